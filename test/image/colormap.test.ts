import { describe, expect, it } from 'vitest';
import { applyColormap, colormapColor, COLORMAP_NAMES, parseColormapName } from '../../src/image/colormap.js';

const hex = (rgb: number[]): string => rgb.map((v) => v.toString(16).padStart(2, '0')).join('');

describe('colormap endpoints', () => {
  it("jet runs from dark blue to dark red, through matplotlib's midpoint", () => {
    expect(colormapColor('jet', 0)).toEqual([0, 0, 128]);
    expect(colormapColor('jet', 1)).toEqual([128, 0, 0]);
    // matplotlib: jet(0.5) = (0.4839, 1, 0.4839)
    expect(colormapColor('jet', 0.5)).toEqual([123, 255, 123]);
  });

  it('viridis and turbo match their published tables', () => {
    expect(hex(colormapColor('viridis', 0))).toBe('440154');
    expect(hex(colormapColor('viridis', 1))).toBe('fde725');
    expect(hex(colormapColor('viridis', 128 / 255))).toBe('21918c'); // matplotlib viridis entry 128
    expect(hex(colormapColor('turbo', 0))).toBe('30123b');
    expect(hex(colormapColor('turbo', 1))).toBe('7a0403');
  });

  it('clamps positions outside [0, 1]', () => {
    expect(colormapColor('viridis', -3)).toEqual(colormapColor('viridis', 0));
    expect(colormapColor('turbo', 7)).toEqual(colormapColor('turbo', 1));
  });
});

describe('applyColormap', () => {
  it('stretches the data range by default and honours an explicit range', () => {
    const map = Float32Array.of(2, 4, 6);
    expect([...applyColormap(map, 3, 1, 'gray').data]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    expect([...applyColormap(map, 3, 1, 'gray', { range: [0, 4] }).data]).toEqual([128, 128, 128, 255, 255, 255, 255, 255, 255]);
  });

  it('centres the diverging map on white at 0 with a symmetric range', () => {
    const img = applyColormap(Float32Array.of(-2, 0, 1), 3, 1, 'bwr');
    expect([...img.data.subarray(0, 3)]).toEqual([0, 0, 255]); // -2 = -max|v|: full blue
    expect([...img.data.subarray(3, 6)]).toEqual([255, 255, 255]); // 0: white
    expect([...img.data.subarray(6, 9)]).toEqual([255, 128, 128]); // +1 of 2: halfway to red
    // An explicit lopsided range is made symmetric: 0 stays white.
    expect([...applyColormap(Float32Array.of(0), 1, 1, 'bwr', { range: [-1, 5] }).data]).toEqual([255, 255, 255]);
  });

  it('gives a constant map one well-defined colour, never NaN garbage', () => {
    // Sequential maps: the low end. bwr: the end of the value's sign (a constant 3.5 is all positive).
    for (const name of COLORMAP_NAMES) {
      const img = applyColormap(new Float32Array(6).fill(3.5), 3, 2, name);
      const neutral = name === 'bwr' ? colormapColor(name, 1) : colormapColor(name, 0);
      for (let i = 0; i < 6; i++) expect([...img.data.subarray(3 * i, 3 * i + 3)], name).toEqual(neutral);
    }
    expect([...applyColormap(new Float32Array(2), 2, 1, 'bwr').data]).toEqual([255, 255, 255, 255, 255, 255]);
  });

  it('maps non-finite values to the neutral colour and ignores them for the range', () => {
    const img = applyColormap(Float32Array.of(NaN, 0, 1, Infinity), 4, 1, 'gray');
    expect([...img.data]).toEqual([0, 0, 0, 0, 0, 0, 255, 255, 255, 0, 0, 0]);
  });

  it('checks the map size', () => {
    expect(() => applyColormap(new Float32Array(5), 2, 2, 'jet')).toThrow(/expected 2x2 = 4 values, got 5/);
  });
});

it('parseColormapName lists the valid names', () => {
  expect(parseColormapName('turbo')).toBe('turbo');
  expect(() => parseColormapName('hot')).toThrow('unknown colormap "hot"; choose one of: jet, turbo, viridis, bwr, gray');
});
