/**
 * Tolerance checks that say what went wrong: `|a - b| <= atol + rtol * |b|` elementwise, and on
 * failure the worst element, its index (as a multi-index when a shape is given) and both values.
 */

export interface CloseResult {
  ok: boolean;
  worstIndex: number;
  worstAbs: number;
  worstExcess: number;
  message: string;
}

function multiIndex(i: number, shape?: readonly number[]): string {
  if (!shape) return `${i}`;
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}

export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, shape, what = 'values' }: { atol?: number; rtol?: number; shape?: readonly number[]; what?: string } = {},
): CloseResult {
  if (actual.length !== expected.length) {
    return {
      ok: false,
      worstIndex: -1,
      worstAbs: Infinity,
      worstExcess: Infinity,
      message: `${what}: length ${actual.length} != expected ${expected.length}`,
    };
  }
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let worstAbs = 0;
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    // Equal values (including equal infinities, whose difference is NaN) always match.
    const diff = a === b ? 0 : Math.abs(a - b);
    const excess = Number.isNaN(diff) ? Infinity : diff - (atol + rtol * Math.abs(b));
    if (excess > 0) bad++;
    if (excess > worstExcess || Number.isNaN(a) !== Number.isNaN(b)) {
      worstExcess = Number.isNaN(a) !== Number.isNaN(b) ? Infinity : excess;
      worstIndex = i;
    }
    if (diff > worstAbs) worstAbs = diff;
  }
  const ok = bad === 0 && actual.length > 0 ? true : actual.length === 0;
  const at = worstIndex >= 0 ? `${multiIndex(worstIndex, shape)}: got ${actual[worstIndex]}, expected ${expected[worstIndex]}` : '';
  const message = `${what}: ${bad} of ${actual.length} outside atol=${atol} rtol=${rtol}; worst abs diff ${worstAbs.toExponential(3)}; worst at ${at}`;
  return { ok, worstIndex, worstAbs, worstExcess, message };
}

/** Throws (for use inside `it`) when not close; the message carries the worst difference. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: Parameters<typeof compareClose>[2] = {}): void {
  const r = compareClose(actual, expected, opts);
  if (!r.ok) throw new Error(r.message);
}

/**
 * Pearson correlation, the metric for gradients whose scale varies over orders of magnitude: the
 * library's own (1 for two constant arrays, 0 when only one is constant, so a flat map fails a gate).
 */
export { pearson as correlation } from '../../src/metrics/statistics.js';

/** Seeded uniform floats in [lo, hi) for test inputs (mulberry32). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rnd();
  return out;
}
