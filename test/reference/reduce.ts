// Plain CPU references for reductions (float64 accumulation), argmax (first maximum wins, as in
// PyTorch), docs/design.md's minmax normalisation, and dot.

export type ReduceOpRef = 'sum' | 'mean' | 'max' | 'min';

/** Reduces the contiguous axes [first, last] of `shape`; returns the flat (outer, inner) result. */
export function reduceRef(op: ReduceOpRef, x: Float32Array, shape: number[], axes: number[]): Float64Array {
  const first = axes[0];
  const last = axes[axes.length - 1];
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const outer = prod(shape.slice(0, first));
  const len = prod(shape.slice(first, last + 1));
  const inner = prod(shape.slice(last + 1));
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'max' ? -Infinity : op === 'min' ? Infinity : 0;
      for (let r = 0; r < len; r++) {
        const v = x[(o * len + r) * inner + i];
        acc = op === 'max' ? Math.max(acc, v) : op === 'min' ? Math.min(acc, v) : acc + v;
      }
      out[o * inner + i] = op === 'mean' ? acc / len : acc;
    }
  }
  return out;
}

export function argmaxRef(x: Float32Array, shape: number[], axis: number): Int32Array {
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const outer = prod(shape.slice(0, axis));
  const len = shape[axis];
  const inner = prod(shape.slice(axis + 1));
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = 0;
      for (let r = 1; r < len; r++) if (x[(o * len + r) * inner + i] > x[(o * len + best) * inner + i]) best = r;
      out[o * inner + i] = best;
    }
  }
  return out;
}

/** minmax(M) = (M - min) / (max - min + 1e-7) per slice, min and max over the contiguous `axes`; a constant slice gives 0. */
export function minmaxRef(x: Float32Array, shape: number[], axes: number[]): Float32Array {
  const lo = reduceRef('min', x, shape, axes);
  const hi = reduceRef('max', x, shape, axes);
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const len = prod(shape.slice(axes[0], axes[axes.length - 1] + 1));
  const inner = prod(shape.slice(axes[axes.length - 1] + 1));
  const out = new Float32Array(x.length);
  for (let t = 0; t < x.length; t++) {
    const s = Math.floor(t / (len * inner)) * inner + (t % inner);
    out[t] = hi[s] > lo[s] ? (x[t] - lo[s]) / (hi[s] - lo[s] + 1e-7) : 0;
  }
  return out;
}

export function dotRef(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
