import { describe, expect, it } from 'vitest';
import {
  averageRanks,
  bootstrapMean,
  erfc,
  mean,
  normalUpperTail,
  quantileSorted,
  wilcoxonSignedRank,
} from '../../src/metrics/statistics.js';
import { normalAt } from '../../src/util/random.js';

describe('bootstrap interval of a mean', () => {
  it('covers the known mean of synthetic data about 95 % of the time', () => {
    const trueMean = 0.3;
    const datasets = 200;
    const n = 40;
    let covered = 0;
    let width = 0;
    for (let d = 0; d < datasets; d++) {
      const values = Array.from({ length: n }, (_, i) => trueMean + normalAt(17, d, i));
      const ci = bootstrapMean(values, { resamples: 2000, seed: d });
      expect(ci.lo).toBeLessThanOrEqual(ci.mean);
      expect(ci.hi).toBeGreaterThanOrEqual(ci.mean);
      if (ci.lo <= trueMean && trueMean <= ci.hi) covered++;
      width += (ci.hi - ci.lo) / datasets;
    }
    // Binomial spread of 200 trials at 0.95 is 0.015; the percentile bootstrap runs a little narrow at n = 40.
    expect(covered / datasets, `coverage ${covered}/${datasets}`).toBeGreaterThan(0.88);
    expect(covered / datasets, `coverage ${covered}/${datasets}`).toBeLessThan(0.99);
    // The width of a 95 % interval for the mean of 40 unit-variance values: 2 * 1.96 / sqrt(40) = 0.62.
    expect(width, 'mean interval width').toBeCloseTo(0.62, 1);
  });

  it('is a point for constant data, reproducible per seed, and NaN for no data', () => {
    expect(bootstrapMean([2, 2, 2])).toEqual({ mean: 2, lo: 2, hi: 2, level: 0.95 });
    const v = [1, 5, 2, 8, 3];
    expect(bootstrapMean(v, { seed: 3 })).toEqual(bootstrapMean(v, { seed: 3 }));
    expect(Number.isNaN(bootstrapMean([]).mean)).toBe(true);
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});

describe('Wilcoxon signed-rank test', () => {
  it("R's paired example (Hollander & Wolfe): V = 40, p = 0.03906 (exact)", () => {
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const t = wilcoxonSignedRank(x.map((v, i) => v - y[i]));
    expect(t.method).toBe('exact');
    expect(t.statistic).toBe(40);
    expect(t.p).toBeCloseTo(20 / 512, 12); // 2 * P(W- <= 5) = 2 * 10 / 2^9
    // Swapping the pairs mirrors V and keeps p.
    const s = wilcoxonSignedRank(y.map((v, i) => v - x[i]));
    expect(s.statistic).toBe(5);
    expect(s.p).toBeCloseTo(t.p, 12);
  });

  it('small exact cases: all positive, and a symmetric sample', () => {
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5]).p).toBeCloseTo(2 / 32, 12);
    expect(wilcoxonSignedRank([-1, 2, -3, 4]).p).toBeCloseTo(14 / 16, 12); // V = 6: 2 P(V >= 6) = 2 * 7/16
    expect(wilcoxonSignedRank([0, 0, 0])).toEqual({ n: 0, statistic: 0, p: 1, method: 'exact' });
  });

  it('ties and zeros: normal approximation with tie-corrected variance and continuity correction', () => {
    // |d| ranks: 1 -> 1.5 (x2), 2 -> 4 (x3), 3 -> 6, 4 -> 7, 5 -> 8.5 (x2), 6 -> 10; negatives -1, -2 give W- = 5.5.
    const t = wilcoxonSignedRank([1, 2, 2, 3, -1, 4, 5, 5, 6, -2, 0]);
    expect(t.method).toBe('normal');
    expect(t.n).toBe(10);
    expect(t.statistic).toBe(49.5);
    const sigma = Math.sqrt((10 * 11 * 21) / 24 - (6 + 24 + 6) / 48);
    expect(t.p).toBeCloseTo(2 * normalUpperTail((49.5 - 27.5 - 0.5) / sigma), 12);
    expect(t.p).toBeCloseTo(0.0278, 4);
  });

  it('large samples use the normal approximation; a clear shift gives a tiny p', () => {
    const d = Array.from({ length: 200 }, (_, i) => 0.5 + normalAt(5, 0, i));
    const t = wilcoxonSignedRank(d);
    expect(t.method).toBe('normal');
    expect(t.p).toBeLessThan(1e-6);
    const null0 = wilcoxonSignedRank(Array.from({ length: 200 }, (_, i) => normalAt(6, 0, i)));
    expect(null0.p).toBeGreaterThan(0.01);
  });

  it('normal tail and ranks', () => {
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 7); // erfc's fit: 1.2e-7 relative
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 6);
    expect(normalUpperTail(-1)).toBeCloseTo(0.8413447460685429, 7);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 6);
    expect(averageRanks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });
});
