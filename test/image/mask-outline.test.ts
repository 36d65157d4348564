import { describe, expect, it } from 'vitest';
import { createRgbImage, upscaleNearest } from '../../src/image/image.js';
import { outlineMask } from '../../src/image/mask-outline.js';
import { labelledSheet } from '../../src/report/labelled-sheet.js';

const RED = [255, 0, 0] as const;
const painted = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  img.data[(y * img.width + x) * 3] === 255 && img.data[(y * img.width + x) * 3 + 1] === 0;

describe('outlineMask', () => {
  // A 3x3 square at (1..3, 1..3) in a 6x5 mask: the ring of 8 pixels is the outline, the centre is not.
  const W = 6;
  const H = 5;
  const mask = new Uint8Array(W * H);
  for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) mask[y * W + x] = 1;

  it('paints exactly the mask pixels that touch the outside', () => {
    const base = createRgbImage(W, H, [10, 20, 30]);
    const out = outlineMask(base, mask, W, H, RED);
    const outline: string[] = [];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (painted(out, x, y)) outline.push(`${x},${y}`);
    expect(outline).toEqual(['1,1', '2,1', '3,1', '1,2', '3,2', '1,3', '2,3', '3,3']);
    expect(base.data[0], 'the input is not modified').toBe(10);
  });

  it('follows an upscaled picture, and treats the image border as outside', () => {
    const full = new Uint8Array(4).fill(1);
    const out = outlineMask(upscaleNearest(createRgbImage(2, 2), 3), full, 2, 2, RED);
    expect(painted(out, 0, 0)).toBe(true);
    expect(painted(out, 5, 5)).toBe(true);
    expect(painted(out, 2, 2)).toBe(false); // interior of the 6x6 picture
    expect(painted(out, 3, 3)).toBe(false);
  });

  it('rejects a mask that does not fit the picture', () => {
    expect(() => outlineMask(createRgbImage(7, 5), mask, W, H)).toThrow(/integer multiple/);
    expect(() => outlineMask(createRgbImage(W, H), mask.subarray(1), W, H)).toThrow(/6x5 mask/);
  });
});

describe('labelledSheet', () => {
  it('places every tile right of the widest label, one row per entry', () => {
    const tile = createRgbImage(4, 4, [255, 0, 0]);
    const sheet = labelledSheet(
      [
        { label: 'ab', tiles: [tile, tile] },
        { label: 'abcd', tiles: [tile] },
      ],
      { padding: 1 },
    );
    const labelW = 4 * 6 + 2; // widest label at 6 px per glyph, plus padding on both sides
    expect(sheet.width).toBe(labelW + 2 * (4 + 1) + 1);
    expect(sheet.height).toBe(2 * (4 + 1) + 1);
    expect(painted(sheet, labelW, 1)).toBe(true); // first tile of row 0
    expect(painted(sheet, labelW + 5, 6)).toBe(false); // row 1 has one tile
  });

  it('refuses an empty row', () => {
    expect(() => labelledSheet([{ label: 'x', tiles: [] }])).toThrow(/at least one tile/);
  });
});
