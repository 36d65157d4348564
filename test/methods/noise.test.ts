import { describe, expect, it } from 'vitest';
import { bitsToNormal, counterBits, fillNormal, gaussianRandom, hash32, normalAt, streamKey } from '../../src/util/random.js';

describe('engine-independent Gaussian noise (util/random.ts)', () => {
  it('hash32 is lowbias32: known values', () => {
    // By hand from the definition: 1 -> x ^= 0; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16.
    let x = Math.imul(1, 0x7feb352d) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    expect(hash32(1)).toBe(x);
    expect(hash32(0)).toBe(0); // why streamKey and counterBits add odd constants
    expect(streamKey(0, 0)).not.toBe(0);
    expect(counterBits(0, 0)).not.toBe(0);
  });

  it('the inverse CDF hits known quantiles and mirrors exactly', () => {
    // bits b stand for p = (b + 0.5) / 2^32; pick b with p close to known quantiles.
    const quantile = (p: number) => bitsToNormal(Math.round(p * 4294967296 - 0.5));
    expect(quantile(0.5)).toBeCloseTo(0, 8);
    expect(quantile(0.975)).toBeCloseTo(1.959963984540054, 7);
    expect(quantile(0.025)).toBeCloseTo(-1.959963984540054, 7);
    expect(quantile(0.841344746068543)).toBeCloseTo(1, 7);
    expect(quantile(0.001)).toBeCloseTo(-3.090232306167813, 7); // in the lower tail branch
    expect(quantile(1e-6)).toBeCloseTo(-4.753424308822899, 4); // p itself is only on the 2^-32 grid
    expect(bitsToNormal(0)).toBeCloseTo(-6.33795775, 6); // p = 2^-33, the most extreme value: ndtri(2^-33)
    for (let i = 0; i < 2000; i++) {
      const b = counterBits(123, i);
      expect(bitsToNormal(b), `mirror of ${b}`).toBe(-bitsToNormal(4294967295 - b));
    }
  });

  it('is standard normal: mean, variance, tails and no correlation between neighbours', () => {
    const n = 200_000;
    const z = new Float64Array(n);
    fillNormal(z, 3, 1);
    let mean = 0;
    for (const v of z) mean += v / n;
    let variance = 0;
    let beyond2 = 0;
    let lag = 0;
    for (let i = 0; i < n; i++) {
      variance += (z[i] - mean) ** 2 / (n - 1);
      if (Math.abs(z[i]) > 1.959963984540054) beyond2++;
      if (i > 0) lag += (z[i] * z[i - 1]) / (n - 1);
    }
    // Standard errors: mean 1/sqrt(n) = 0.0022; variance sqrt(2/n) = 0.0032; tail share sqrt(.05 .95 / n) = 0.0005.
    expect(Math.abs(mean), `mean ${mean}`).toBeLessThan(0.01);
    expect(Math.abs(variance - 1), `variance ${variance}`).toBeLessThan(0.015);
    expect(Math.abs(beyond2 / n - 0.05), `share beyond +-1.96: ${beyond2 / n}`).toBeLessThan(0.003);
    expect(Math.abs(lag), `lag-1 correlation ${lag}`).toBeLessThan(0.01);
  });

  it('value i of a stream is a pure function of (seed, stream, i): order and chunking never matter', () => {
    const whole = new Float64Array(1000);
    fillNormal(whole, 9, 4);
    const tail = new Float64Array(300);
    fillNormal(tail, 9, 4, 700);
    expect(Array.from(tail)).toEqual(Array.from(whole.subarray(700)));
    expect(normalAt(9, 4, 123)).toBe(whole[123]);
    const g = gaussianRandom(9);
    expect([g(), g(), g()]).toEqual([0, 1, 2].map((i) => normalAt(9, 0, i)));
    // Different seeds and streams are different sequences.
    expect(normalAt(9, 5, 0)).not.toBe(normalAt(9, 4, 0));
    expect(normalAt(10, 4, 0)).not.toBe(normalAt(9, 4, 0));
  });
});
