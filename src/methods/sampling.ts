import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { addInPlace } from '../kernels/elementwise.js';
import { reduce } from '../kernels/reduce.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Runs forward + backward over many perturbed copies of each image in batches of `batchSize` and sums
 * w_s * d y_target / d input per image on the GPU: (N, C, H, W). `makeBatch(image, first, count)` returns the
 * host data of `count` perturbed copies (count, C, H, W) of image `image`, starting at sample `first`.
 * `weights` (one per sample, default all 1) scale the seed of each copy's backward pass, so a quadrature
 * rule costs nothing extra.
 */
export const accumulateGradients = scoped(async function accumulateGradients(
  model: Model,
  shape: readonly number[],
  targets: readonly number[],
  samples: number,
  batchSize: number,
  makeBatch: (image: number, first: number, count: number) => Float32Array,
  onProgress?: (done: number, total: number) => void,
  weights?: readonly number[],
): Promise<Tensor> {
  const e = model.engine;
  const [n, c, h, w] = shape;
  const plane = c * h * w;
  const classes = model.numClasses;
  const sum = e.empty([n, c, h, w], 'f32', 'gradient.sum');
  for (let i = 0; i < n; i++) {
    let acc: Tensor | null = null;
    for (let first = 0; first < samples; first += batchSize) {
      const count = Math.min(batchSize, samples - first);
      const xb = e.upload(makeBatch(i, first, count), [count, c, h, w], 'perturbed.batch');
      const trace = model.forward(xb);
      const seedHost = new Float32Array(count * classes);
      for (let s = 0; s < count; s++) seedHost[s * classes + targets[i]] = weights ? weights[first + s] : 1;
      const seed = e.upload(seedHost, [count, classes], 'seed.weighted');
      const back = model.backward(trace, { grad: seed });
      trace.release();
      const batchSum = reduce(e, 'sum', back.input!, [0], true);
      if (acc) {
        addInPlace(e, acc, batchSum);
        e.release(batchSum);
      } else acc = batchSum;
      e.releaseAll(xb, seed);
      back.release();
      // Reading nothing back keeps the GPU busy; wait only so progress reflects finished work.
      if (onProgress) {
        await e.finish();
        onProgress(i * samples + first + count, n * samples);
      }
    }
    e.copy(acc!, 0, sum, i * plane, plane);
    e.release(acc!);
  }
  return sum;
});
