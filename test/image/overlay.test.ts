import { describe, expect, it } from 'vitest';
import { applyColormap, colormapColor } from '../../src/image/colormap.js';
import type { RgbImage } from '../../src/image/image.js';
import {
  gradientToImage,
  greyMapToImage,
  overlayHeatmap,
  overlayHeatmapOnOriginal,
  pictureOnOriginal,
  sampleIntoRegion,
} from '../../src/image/overlay.js';
import { preprocessForModel } from '../../src/image/preprocess.js';
import { resizeBilinear } from '../../src/image/resize.js';

function gradientBase(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([(i * 37) % 256, (i * 11) % 256, 200], 3 * i);
  return { width, height, data };
}

describe('overlayHeatmap', () => {
  const base = gradientBase(4, 4);
  const map = Float32Array.from({ length: 16 }, (_, i) => i / 15);

  it('returns the base image at alpha 0 and the bare colormap at alpha 1', () => {
    expect(overlayHeatmap(base, map, 4, 4, { alpha: 0 }).data).toEqual(base.data);
    expect(overlayHeatmap(base, map, 4, 4, { alpha: 1, colormap: 'viridis' }).data).toEqual(
      applyColormap(map, 4, 4, 'viridis', { range: [0, 1] }).data,
    );
  });

  it('blends halfway by default with jet', () => {
    const out = overlayHeatmap(base, map, 4, 4);
    const heat = applyColormap(map, 4, 4, 'jet', { range: [0, 1] });
    for (let i = 0; i < out.data.length; i++) expect(Math.abs(out.data[i] - (base.data[i] + heat.data[i]) / 2)).toBeLessThanOrEqual(0.5);
  });

  it('bilinearly upsamples a small map to the image size', () => {
    const small = Float32Array.of(0, 1, 0.5, 0.25);
    const expected = applyColormap(resizeBilinear(small, 2, 2, 4, 4), 4, 4, 'turbo', { range: [0, 1] });
    expect(overlayHeatmap(base, small, 2, 2, { alpha: 1, colormap: 'turbo' }).data).toEqual(expected.data);
  });

  it('reads values on a fixed [0, 1] scale: a constant map is one colour, not NaN', () => {
    const out = overlayHeatmap(base, new Float32Array(4).fill(0.7), 2, 2, { alpha: 1 });
    const c = colormapColor('jet', 0.7);
    for (let i = 0; i < 16; i++) expect([...out.data.subarray(3 * i, 3 * i + 3)]).toEqual(c);
  });

  it('validates alpha and the map size', () => {
    expect(() => overlayHeatmap(base, map, 4, 4, { alpha: 1.5 })).toThrow(/alpha must be in \[0, 1\]/);
    expect(() => overlayHeatmap(base, map, 3, 3)).toThrow(/expected a 3x3 map/);
  });
});

describe('gradientToImage', () => {
  it('renders zero as mid-grey, without dividing by zero', () => {
    const img = gradientToImage(new Float32Array(3 * 2 * 2), 3, 2, 2);
    expect([...img.data]).toEqual(new Array(12).fill(128));
  });

  it('scales by a robust max so one outlier does not wash the picture out', () => {
    // 1000 values of +-1 per channel and one huge spike.
    const H = 10;
    const W = 100;
    const grad = Float32Array.from({ length: 3 * H * W }, (_, i) => (i % 2 === 0 ? 1 : -1));
    grad[5] = 1e6;
    const img = gradientToImage(grad, 3, H, W);
    expect(img.data[3 * 0]).toBe(255); // R at pixel 0: +1 saturates
    expect(img.data[3 * 1]).toBe(0); // R at pixel 1: -1 saturates
    expect(img.data[3 * 5]).toBe(255); // the spike is clipped
  });

  it('falls back to the max for a sparse gradient, and maps channels in CHW order', () => {
    // 2 non-zeros in 1200 values: the 99.5th percentile of |g| is 0.
    const plane = 400;
    const grad = new Float32Array(3 * plane);
    grad[1] = 2; // R, pixel 1
    grad[plane + 2] = -1; // G, pixel 2
    const img = gradientToImage(grad, 3, 1, plane);
    expect([...img.data.subarray(0, 12)]).toEqual([128, 128, 128, 255, 128, 128, 128, 64, 128, 128, 128, 128]);
  });

  it('renders one channel as grey and treats non-finite values as 0', () => {
    const img = gradientToImage(Float32Array.of(-1, NaN, 1), 1, 1, 3, { percentile: 100 });
    expect([...img.data]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
    expect(() => gradientToImage(new Float32Array(8), 2, 2, 2)).toThrow(/1 or 3 channels/);
  });
});

it('greyMapToImage spans black to white', () => {
  expect([...greyMapToImage(Float32Array.of(0, 0.5, 1), 3, 1).data]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
});

describe('overlays at the original size', () => {
  it('sampleIntoRegion over the whole frame is resizeBilinear', () => {
    const map = Float32Array.from({ length: 6 * 4 }, (_, i) => Math.sin(i));
    expect(sampleIntoRegion(map, 6, 4, 15, 7, { x: 0, y: 0, width: 15, height: 7 })).toEqual(resizeBilinear(map, 6, 4, 15, 7));
  });

  it('leaves pixels outside the region NaN and maps the region edges to the map edges', () => {
    // A 2x1 map [0, 1] over columns 2..5 of an 8-wide frame.
    const out = sampleIntoRegion(Float32Array.of(0, 1), 2, 1, 8, 1, { x: 2, y: 0, width: 4, height: 1 });
    expect(Array.from(out.subarray(0, 2))).toEqual([NaN, NaN]);
    expect(Array.from(out.subarray(6))).toEqual([NaN, NaN]);
    expect(Array.from(out.subarray(2, 6))).toEqual([0, 0.25, 0.75, 1]);
  });

  it("finds the model input's region in the original: whole picture, or the centre crop scaled back", () => {
    const img = gradientBase(120, 80);
    const direct = preprocessForModel(img, { inputSize: [32, 32], mean: [0, 0, 0], std: [1, 1, 1] });
    expect(direct.region).toEqual({ x: 0, y: 0, width: 120, height: 80 });
    // Resize(40): 120x80 -> 60x40, CenterCrop(32): columns 14..45, rows 4..35; x2 back to the original.
    const cropped = preprocessForModel(img, { inputSize: [32, 32], mean: [0, 0, 0], std: [1, 1, 1], resize: 40 });
    expect(cropped.region).toEqual({ x: 28, y: 8, width: 64, height: 64 });
  });

  it('draws a heatmap over the original picture, washed out where the model saw nothing', () => {
    const original = gradientBase(10, 6);
    const map = Float32Array.from({ length: 4 }, (_, i) => i / 3);
    const region = { x: 2, y: 0, width: 6, height: 6 };
    const out = overlayHeatmapOnOriginal(original, map, 2, 2, region, { alpha: 0 });
    expect([out.width, out.height]).toEqual([10, 6]);
    const px = (img: RgbImage, x: number, y: number) => Array.from(img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3));
    // alpha 0 inside: the picture itself; outside: lighter than the picture.
    expect(px(out, 4, 3)).toEqual(px(original, 4, 3));
    expect(px(out, 0, 3).every((v, c) => v >= px(original, 0, 3)[c])).toBe(true);
    expect(px(out, 0, 3)).not.toEqual(px(original, 0, 3));
    const opaque = overlayHeatmapOnOriginal(original, map, 2, 2, region, { alpha: 1 });
    expect(px(opaque, 2, 0)).toEqual(colormapColor('jet', 0));
    expect(px(opaque, 7, 5)).toEqual(colormapColor('jet', 1));
  });

  it('places a model-sized picture over its region', () => {
    const original = gradientBase(9, 9);
    const picture: RgbImage = { width: 1, height: 1, data: Uint8Array.of(10, 20, 30) };
    const out = pictureOnOriginal(original, picture, { x: 3, y: 3, width: 3, height: 3 });
    expect(Array.from(out.data.subarray(3 * (4 * 9 + 4), 3 * (4 * 9 + 4) + 3))).toEqual([10, 20, 30]);
    expect(Array.from(out.data.subarray(0, 3))).not.toEqual([10, 20, 30]);
  });
});
