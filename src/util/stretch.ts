/** The smallest and largest value ([Infinity, -Infinity] for none). */
export function valueBounds(values: ArrayLike<number>): [lo: number, hi: number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return [lo, hi];
}

/** Min-max to [0, 1] as a copy (docs/design.md's minmax: a constant map becomes zeros, never NaN). For display. */
export function stretchToUnit(map: ArrayLike<number>): Float32Array {
  const [lo, hi] = valueBounds(map);
  return Float32Array.from(map, (v) => (v - lo) / (hi - lo + 1e-7));
}
