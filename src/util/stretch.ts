/** Min-max to [0, 1] as a copy (docs/design.md's minmax: a constant map becomes zeros, never NaN). For display. */
export function stretchToUnit(map: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    lo = Math.min(lo, map[i]);
    hi = Math.max(hi, map[i]);
  }
  return Float32Array.from(map, (v) => (v - lo) / (hi - lo + 1e-7));
}
