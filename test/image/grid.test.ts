import { describe, expect, it } from 'vitest';
import { createRgbImage, upscaleNearest, type RgbImage } from '../../src/image/image.js';
import { hstack, tileGrid, vstack } from '../../src/image/grid.js';

const solid = (w: number, h: number, v: number): RgbImage => createRgbImage(w, h, [v, v, v]);
const at = (img: RgbImage, x: number, y: number): number => img.data[3 * (y * img.width + x)];

describe('tileGrid', () => {
  it('has columns*cell + (columns+1)*padding by rows*cell + (rows+1)*padding pixels', () => {
    const tiles = [1, 2, 3, 4, 5].map((v) => solid(3, 3, v));
    const grid = tileGrid(tiles, { columns: 3, padding: 1, scale: 2, background: [9, 9, 9] });
    expect([grid.width, grid.height]).toEqual([3 * 6 + 4, 2 * 6 + 3]);
    expect(at(grid, 0, 0)).toBe(9); // border
    expect(at(grid, 1, 1)).toBe(1); // first tile
    expect(at(grid, 6, 6)).toBe(1); // its scaled extent
    expect(at(grid, 7, 1)).toBe(9); // gap
    expect(at(grid, 8, 1)).toBe(2);
    expect(at(grid, 1, 8)).toBe(4); // second row
    expect(at(grid, 8, 8)).toBe(5);
    expect(at(grid, 20, 10)).toBe(9); // the empty sixth cell
  });

  it('defaults to a square-ish sheet and centres smaller images in their cells', () => {
    const grid = tileGrid([solid(4, 4, 1), solid(2, 2, 2), solid(4, 4, 3)], { padding: 0 });
    expect([grid.width, grid.height]).toEqual([8, 8]); // ceil(sqrt(3)) = 2 columns
    expect(at(grid, 4, 0)).toBe(255);
    expect(at(grid, 5, 1)).toBe(2);
    expect(at(grid, 1, 5)).toBe(3);
  });

  it('rejects bad options', () => {
    expect(() => tileGrid([])).toThrow(/no images/);
    expect(() => tileGrid([solid(1, 1, 0)], { scale: 1.5 })).toThrow(/positive integer/);
    expect(() => tileGrid([solid(1, 1, 0)], { padding: -1 })).toThrow(/non-negative/);
  });
});

describe('stacks', () => {
  it('hstack sums widths plus gaps and top-aligns', () => {
    const out = hstack([solid(2, 3, 1), solid(1, 1, 2)], { padding: 1, background: [0, 0, 0] });
    expect([out.width, out.height]).toEqual([4, 3]);
    expect([at(out, 1, 2), at(out, 2, 0), at(out, 3, 0), at(out, 3, 1)]).toEqual([1, 0, 2, 0]);
  });

  it('vstack sums heights plus gaps and left-aligns', () => {
    const out = vstack([solid(3, 1, 1), solid(1, 2, 2)], { padding: 2 });
    expect([out.width, out.height]).toEqual([3, 5]);
    expect([at(out, 2, 0), at(out, 0, 1), at(out, 0, 3), at(out, 1, 3)]).toEqual([1, 255, 2, 255]);
  });
});

it('upscaleNearest repeats pixels', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6) };
  const up = upscaleNearest(img, 2);
  expect([up.width, up.height]).toEqual([4, 2]);
  expect([...up.data.subarray(0, 12)]).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  expect(up.data.subarray(12)).toEqual(up.data.subarray(0, 12));
});
