/** A labelled image source in batches: normalised (B, 3, H, W) host data plus labels. */
export interface LabelledBatches {
  count: number;
  shape: [number, number, number];
  batch(start: number, count: number): { data: Float32Array; labels: ArrayLike<number> };
}
