/**
 * The statistics a per-image evaluation needs: a mean with a percentile-bootstrap interval, and paired
 * differences tested with the Wilcoxon signed-rank test. Small, dependency-free, checked in
 * test/metrics/statistics.test.ts against values R prints and against closed forms.
 */
import { uniformRandom } from '../util/random.js';

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length ? s / values.length : NaN;
}

/** A mean with its 95 % bootstrap interval [lo, hi]. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  /** Coverage, e.g. 0.95. */
  level: number;
}

/**
 * The mean and its percentile-bootstrap interval (Efron): `resamples` means of n values drawn with
 * replacement, cut at (1 - level)/2 and (1 + level)/2. Seeded, so a table reproduces exactly.
 */
export function bootstrapMean(values: ArrayLike<number>, { level = 0.95, resamples = 10000, seed = 0 } = {}): Interval {
  const n = values.length;
  if (!n) return { mean: NaN, lo: NaN, hi: NaN, level };
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap level must be in (0, 1), got ${level}`);
  const rnd = uniformRandom(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rnd() * n)];
    means[r] = s / n;
  }
  means.sort();
  return { mean: mean(values), lo: quantileSorted(means, (1 - level) / 2), hi: quantileSorted(means, (1 + level) / 2), level };
}

/** Linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  return i + 1 < sorted.length ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/** The Wilcoxon signed-rank test of paired differences (two-sided). */
export interface SignedRankTest {
  /** Pairs with a nonzero difference (zeros are dropped, Wilcoxon's convention). */
  n: number;
  /** V: the sum of the ranks of the positive differences (R's statistic). */
  statistic: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/**
 * Wilcoxon signed-rank test of the differences d_i against a median of 0, two-sided, as R's wilcox.test
 * does it: zeros dropped, average ranks for ties of |d|; the exact distribution of V when n < 50 with no
 * ties, otherwise the normal approximation with the tie-corrected variance and a continuity correction.
 */
export function wilcoxonSignedRank(differences: ArrayLike<number>): SignedRankTest {
  const d = Array.from(differences).filter((v) => v !== 0);
  const n = d.length;
  if (n === 0) return { n, statistic: 0, p: 1, method: 'exact' };
  const ranks = averageRanks(d.map(Math.abs));
  let v = 0;
  d.forEach((x, i) => (v += x > 0 ? ranks[i] : 0));
  const tieGroups = tieSizes(d.map(Math.abs));
  if (n < 50 && tieGroups.every((t) => t === 1)) {
    const counts = signedRankCounts(n);
    const total = 2 ** n;
    let lower = 0;
    for (let k = 0; k <= v; k++) lower += counts[k];
    let upper = 0;
    for (let k = v; k < counts.length; k++) upper += counts[k];
    return { n, statistic: v, p: Math.min(1, (2 * Math.min(lower, upper)) / total), method: 'exact' };
  }
  const mu = (n * (n + 1)) / 4;
  const tieTerm = tieGroups.reduce((s, t) => s + t ** 3 - t, 0);
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
  const diff = v - mu;
  const z = sigma > 0 ? (diff - Math.sign(diff) * 0.5) / sigma : 0;
  return { n, statistic: v, p: Math.min(1, 2 * normalUpperTail(Math.abs(z))), method: 'normal' };
}

/** counts[k]: subsets of {1..n} whose sum is k, i.e. 2^n P(V = k) under the null. */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  const counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let r = 1; r <= n; r++) for (let k = max; k >= r; k--) counts[k] += counts[k - r];
  return counts;
}

/**
 * Pearson correlation. 0 when exactly one side is constant (nothing to correlate); when both are,
 * `bothConstant`: 1 by default (equal rankings agree), 0 where two flat maps should count as unrelated.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>, { bothConstant = 1 }: { bothConstant?: 0 | 1 } = {}): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`correlation of ${n} and ${b.length} values`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 && sbb === 0) return bothConstant;
  if (saa === 0 || sbb === 0) return 0;
  return sab / Math.sqrt(saa * sbb);
}

/** Ranks 1..n of the values, ties sharing the mean of their ranks. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function tieSizes(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.values()];
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * erfc(x) = t exp(-x^2 + P(t)), t = 1/(1 + x/2), with the Chebyshev-fitted polynomial P of Numerical Recipes'
 * erfcc: relative error below 1.2e-7 everywhere, ample for p-values printed to three digits.
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  const t = 1 / (1 + 0.5 * x);
  const coeffs = [
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
  ];
  let poly = coeffs[coeffs.length - 1];
  for (let k = coeffs.length - 2; k >= 0; k--) poly = poly * t + coeffs[k];
  return t * Math.exp(-x * x + poly);
}
