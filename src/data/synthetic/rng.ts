/**
 * A small counter-based random source: every value is a hash of (key, counter), so sample i of a
 * split is reproducible on its own, in any order, in Node and in browsers alike. Only 32-bit integer
 * operations (Math.imul, shifts, xor), which JavaScript defines exactly.
 */

/** Chris Wellons' "lowbias32" integer hash: a bijection on uint32 with low bias. */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

/** One uint32 key from several integers (order matters). */
export function hashKey(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = hash32((h ^ hash32((p >>> 0) ^ 0x632be5ab)) + 0x7f4a7c15);
  return h;
}

/**
 * Stream number `stream` of a key: value k is hash(key, stream, k). Streams keep the parts of a
 * sample (background, object, clutter, noise) independent, so changing how many numbers one part
 * draws does not shift the others.
 */
export class CounterRng {
  private counter = 0;
  private readonly key: number;

  constructor(key: number, stream = 0) {
    this.key = hashKey(key, stream);
  }

  /** uint32 number `counter` of this stream, without advancing. */
  at(counter: number): number {
    return hash32((this.key ^ hash32(counter >>> 0)) >>> 0);
  }

  nextU32(): number {
    return this.at(this.counter++);
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Approximately N(0, 1): the sum of four uniforms, rescaled (Irwin-Hall; no Math.log, no Math.cos). */
  normalish(): number {
    return (this.uniform() + this.uniform() + this.uniform() + this.uniform() - 2) * Math.sqrt(3);
  }
}
