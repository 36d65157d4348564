/**
 * Seeded random numbers that every JavaScript engine (and the Python reference,
 * tools/make_method_references.py) reproduces bit for bit.
 *
 * Integers come from a counter hash, so value i of a stream is a pure function of (seed, stream, i):
 * batching, ordering and restarts never change the noise. The only floating-point operations are
 * IEEE-754's basic ones (+, -, *, /, sqrt), which every conforming engine rounds identically; the
 * logarithm the Gaussian tail needs is computed here from a fixed polynomial, never from Math.log,
 * whose last bit differs between engines and engine versions.
 */

const TWO_32 = 4294967296;

/** A 32-bit integer bijection with strong avalanche (C. Wellons' "lowbias32" constants). */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

// hash32(0) = 0, so odd constants (fractional bits of the golden ratio and of sqrt(2), sqrt(3)) keep seed 0,
// stream 0 and counter 0 away from that fixed point.

/** The key of stream `stream` under `seed` (both unsigned 32-bit integers). */
export function streamKey(seed: number, stream = 0): number {
  return hash32((hash32((seed + 0x9e3779b9) >>> 0) + Math.imul(stream >>> 0, 0x6a09e667) + 0xbb67ae85) >>> 0);
}

/** Uniform 32-bit integer number `counter` of the stream with key `key`. */
export function counterBits(key: number, counter: number): number {
  return hash32((hash32((counter ^ key) >>> 0) + key + 0x9e3779b9) >>> 0);
}

/** (bits + 0.5) / 2^32: uniform in (0, 1), never 0 or 1, exact in float64. */
export function bitsToUnit(bits: number): number {
  return (bits + 0.5) / TWO_32;
}

// ln(m / 2^33) for an odd integer 0 < m < 2^33: m = f 2^e with f in [sqrt(1/2), sqrt(2)) by exact scaling,
// then ln f = 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...), s = (f - 1)/(f + 1), |s| <= 0.1716, 13 terms
// (the next is below 1e-19 relative).
const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;
const ATANH_TERMS = 13;
const ATANH_COEFFS = Array.from({ length: ATANH_TERMS }, (_, n) => 1 / (2 * n + 1));

function logOfOddOver2to33(m: number): number {
  let e = 0;
  let p = 1;
  while (p * 2 <= m) {
    p *= 2;
    e++;
  }
  let f = m / p; // [1, 2), exact: division by a power of two
  if (f > SQRT2) {
    f /= 2;
    e++;
  }
  const s = (f - 1) / (f + 1);
  const s2 = s * s;
  let poly = ATANH_COEFFS[ATANH_TERMS - 1];
  for (let n = ATANH_TERMS - 2; n >= 0; n--) poly = poly * s2 + ATANH_COEFFS[n];
  return 2 * s * poly + (e - 33) * LN2;
}

// P. J. Acklam's rational approximation of the inverse normal CDF (relative error below 1.15e-9).
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
// The tails start at p = 0.02425 (Acklam's split), decided on the integer so both tails mirror exactly.
const TAIL_BITS = Math.floor(0.02425 * TWO_32);

/** Tail of the inverse CDF for lower-tail probability (2 k + 1) / 2^33, as a negative number. */
function lowerTail(k: number): number {
  const q = Math.sqrt(-2 * logOfOddOver2to33(2 * k + 1));
  const num = ((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5];
  const den = (((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1;
  return num / den;
}

/**
 * Standard normal quantile of the uniform (bits + 0.5) / 2^32. The upper tail uses the mirrored integer,
 * so z(bits) = -z(2^32 - 1 - bits) exactly. |z| <= 6.34.
 */
export function bitsToNormal(bits: number): number {
  if (bits < TAIL_BITS) return lowerTail(bits);
  if (bits > TWO_32 - 1 - TAIL_BITS) return -lowerTail(TWO_32 - 1 - bits);
  const q = bitsToUnit(bits) - 0.5;
  const r = q * q;
  const num = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q;
  const den = ((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1;
  return num / den;
}

/** Standard normal number `counter` of stream `stream` under `seed`. */
export function normalAt(seed: number, stream: number, counter: number): number {
  return bitsToNormal(counterBits(streamKey(seed, stream), counter));
}

/** Fills `out` with normals `first`, `first + 1`, ... of a stream (scaled by `scale`). */
export function fillNormal(out: Float32Array | Float64Array, seed: number, stream: number, first = 0, scale = 1): void {
  if (first + out.length > TWO_32) throw new RangeError(`a stream holds 2^32 values; asked for up to ${first + out.length}`);
  const key = streamKey(seed, stream);
  for (let i = 0; i < out.length; i++) out[i] = scale * bitsToNormal(counterBits(key, first + i));
}

/** Uniform floats in [0, 1) from one seeded sequence (mulberry32: integer operations only). */
export function uniformRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  };
}

/** Standard normals as one sequence: normals 0, 1, 2, ... of stream 0 under `seed`. */
export function gaussianRandom(seed: number): () => number {
  const key = streamKey(seed, 0);
  let counter = 0;
  return () => {
    if (counter >= TWO_32) throw new RangeError('gaussianRandom: a stream holds 2^32 values');
    return bitsToNormal(counterBits(key, counter++));
  };
}
