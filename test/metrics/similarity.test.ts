import { describe, expect, it } from 'vitest';
import { hog, hogSimilarity, spearman, ssim } from '../../src/sanity/similarity.js';
import { pearson } from '../../src/metrics/statistics.js';
import { randomArray } from '../util/compare.js';

const H = 32;
const W = 32;
const blob = (cy: number, cx: number, s = 5) =>
  Float32Array.from({ length: H * W }, (_, p) => Math.exp(-((Math.floor(p / W) - cy) ** 2 + ((p % W) - cx) ** 2) / (2 * s * s)));

describe('map similarity measures (sanity checks)', () => {
  it('Spearman: 1 for any increasing transform, -1 reversed, ties by mean rank, 0 against a constant', () => {
    const a = randomArray(500, 1);
    expect(
      spearman(
        a,
        a.map((v) => Math.exp(3 * v)),
      ),
    ).toBeCloseTo(1, 12);
    expect(
      spearman(
        a,
        a.map((v) => -v),
      ),
    ).toBeCloseTo(-1, 12);
    // Known small case: ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4] -> Pearson of those = 0.9486833.
    expect(spearman([1, 2, 2, 3], [10, 20, 30, 40])).toBeCloseTo(0.9486832980505138, 12);
    expect(spearman(a, new Float32Array(500))).toBe(0);
    expect(Math.abs(spearman(randomArray(4000, 2), randomArray(4000, 3)))).toBeLessThan(0.05);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
  });

  it('SSIM: 1 for identical maps, lower for a shifted blob, symmetric, near 0 for unrelated noise', () => {
    const a = blob(10, 12);
    expect(ssim(a, a, H, W)).toBeCloseTo(1, 12);
    const shifted = ssim(a, blob(20, 22), H, W);
    expect(shifted).toBeLessThan(0.6);
    expect(ssim(blob(20, 22), a, H, W)).toBeCloseTo(shifted, 12);
    expect(Math.abs(ssim(randomArray(H * W, 4, 0, 1), randomArray(H * W, 5, 0, 1), H, W))).toBeLessThan(0.1);
    // A hand-checked window: constant maps c1, c2 give (2 c1 c2 + C1) / (c1^2 + c2^2 + C1) everywhere.
    const [c1, c2, C1] = [Math.fround(0.2), Math.fround(0.6), 0.01 ** 2];
    const constant = (c: number) => new Float32Array(H * W).fill(c);
    expect(ssim(constant(c1), constant(c2), H, W)).toBeCloseTo((2 * c1 * c2 + C1) / (c1 * c1 + c2 * c2 + C1), 9);
  });

  it('HOG: 7 x 7 blocks of 2 x 2 cells x 9 bins at 32 x 32; similarity 1 to itself and to a brighter copy, lower to a moved blob', () => {
    const a = blob(10, 12);
    expect(hog(a, H, W).length).toBe(7 * 7 * 4 * 9);
    expect(hogSimilarity(a, a, H, W)).toBeCloseTo(1, 12);
    expect(
      hogSimilarity(
        a,
        a.map((v) => 3 * v),
        H,
        W,
      ),
    ).toBeCloseTo(1, 6); // blocks are normalised
    expect(hogSimilarity(a, blob(22, 20), H, W)).toBeLessThan(0.5);
    // A vertical edge votes only the 0-degree bin (horizontal gradient).
    const edge = Float32Array.from({ length: H * W }, (_, p) => (p % W < 16 ? 0 : 1));
    const f = hog(edge, H, W);
    let other = 0;
    for (let i = 0; i < f.length; i++) if (i % 9 !== 0) other += f[i];
    expect(other).toBe(0);
  });
});
