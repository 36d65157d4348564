/**
 * Percentiles by selection rather than sorting: gradientToImage needs one order statistic of
 * 150k values per picture, and a full Float32Array sort costs ~60 ms of that where quickselect
 * costs a few.
 */

/** Rearranges `a` so that a[k] holds the k-th smallest value (Hoare quickselect); returns it. */
function selectInPlace(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median-of-three pivot keeps sorted or constant runs from degrading to quadratic time.
    const x = a[lo];
    const y = a[(lo + hi) >>> 1];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and everything between equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/**
 * The p-th percentile (0..100) with numpy's default linear interpolation. Reorders `values`
 * (pass a scratch copy). NaN-free input expected; returns NaN for an empty array.
 */
export function percentileInPlace(values: Float32Array, p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const i = Math.floor(pos);
  const low = selectInPlace(values, i);
  if (i + 1 >= n || pos === i) return low;
  // After selection everything right of i is >= low, so the next order statistic is their min.
  let next = Infinity;
  for (let j = i + 1; j < n; j++) if (values[j] < next) next = values[j];
  return low + (next - low) * (pos - i);
}
