import { expect, it } from 'vitest';
import { percentileInPlace } from '../../src/image/percentile.js';

/** numpy.percentile's default (linear) definition, by sorting. */
function reference(values: Float32Array, p: number): number {
  const s = Float32Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const i = Math.floor(pos);
  const j = Math.min(i + 1, s.length - 1);
  return s[i] + (s[j] - s[i]) * (pos - i);
}

it('matches the sort-based definition on random, duplicated, sorted and constant data', () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const cases: Float32Array[] = [
    Float32Array.from({ length: 1001 }, rand),
    Float32Array.from({ length: 500 }, () => Math.floor(rand() * 4)), // heavy duplicates
    Float32Array.from({ length: 300 }, (_, i) => i), // already sorted
    Float32Array.from({ length: 300 }, (_, i) => -i), // reversed
    new Float32Array(64).fill(2.5),
    Float32Array.of(3),
  ];
  for (const values of cases) {
    for (const p of [0, 1, 37.5, 50, 99.5, 100]) {
      expect(percentileInPlace(Float32Array.from(values), p)).toBeCloseTo(reference(values, p), 6);
    }
  }
  expect(percentileInPlace(new Float32Array(0), 50)).toBeNaN();
});
