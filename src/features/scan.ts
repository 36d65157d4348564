import type { Trace } from '../graph/executor.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPassFor } from '../graph/pass-size.js';
import { FeatureInputError } from './errors.js';
import type { ImageSource } from './image-source.js';
import { scoped } from '../gpu/scopes.js';

/** How a pass over an image source is batched, which images it covers, and its progress callback. */
export interface ScanOptions {
  /** Images per forward pass; default 50. */
  batchSize?: number;
  /** Only these images of the source, in this order; default all. */
  indices?: readonly number[];
  /** Called after every batch with images done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Consecutive runs of `indices` so contiguous selections load as one batch. */
async function loadBatch(model: Model, source: ImageSource, indices: readonly number[]): Promise<Float32Array> {
  const per = 3 * source.height * source.width;
  const out = new Float32Array(indices.length * per);
  let k = 0;
  while (k < indices.length) {
    let run = 1;
    while (k + run < indices.length && indices[k + run] === indices[k] + run) run++;
    out.set(await source.batch(indices[k], run, model.info), k * per);
    k += run;
  }
  return out;
}

/**
 * Forward passes over the source in batches, keeping `layers` (forBackward false: nothing for a backward
 * pass is retained). `visit` gets the trace and the source indices of the batch; the trace is released after.
 */
export const scanSource = scoped(async function scanSource(
  model: Model,
  source: ImageSource,
  layers: readonly string[],
  visit: (trace: Trace, indices: readonly number[]) => Promise<void> | void,
  opts: ScanOptions = {},
): Promise<void> {
  for (const l of layers) model.assertLayer(l);
  const e = model.engine;
  const all = opts.indices ?? Array.from({ length: source.count }, (_, i) => i);
  for (const i of all) {
    if (!Number.isInteger(i) || i < 0 || i >= source.count)
      throw new FeatureInputError(`image index ${i} is out of range: ${source.description} has images 0..${source.count - 1}`);
  }
  const batchSize = imagesPerPassFor(model, [3, source.height, source.width], batchSizeOption('features', opts.batchSize, 50));
  for (let start = 0; start < all.length; start += batchSize) {
    const indices = all.slice(start, start + batchSize);
    const x = e.upload(await loadBatch(model, source, indices), [indices.length, 3, source.height, source.width], 'features.images');
    const trace = model.forward(x, { keep: layers, forBackward: false });
    try {
      await visit(trace, indices);
    } finally {
      trace.release();
      e.release(x);
    }
    opts.onProgress?.(Math.min(all.length, start + batchSize), all.length);
  }
});
