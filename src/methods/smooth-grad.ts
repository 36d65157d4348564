import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';
import { affine } from '../kernels/elementwise.js';
import { fillNormal } from '../util/random.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { saliencyFromGradient } from './saliency.js';
import { accumulateGradients } from './sampling.js';
import { scoped } from '../gpu/scopes.js';
import { valueBounds } from '../util/stretch.js';

/** Options of {@link smoothGrad}. */
export interface SmoothGradOptions extends MethodOptions {
  /** Noisy copies per image (default 50). */
  samples?: number;
  /** Noise standard deviation (default 0.15), read as `sigmaScale` says. */
  sigma?: number;
  /**
   * 'relative' (default, the paper's): sigma is a fraction of each image's value range, max(x) - min(x).
   * 'absolute': sigma is in the units of the normalised input.
   */
  sigmaScale?: 'relative' | 'absolute';
  seed?: number;
  /**
   * Perturbed copies per forward + backward pass (default 16), at most: fewer where that many would not
   * fit the adapter's binding limit (graph/pass-size.ts).
   */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * SmoothGrad (Smilkov et al. 2017): the gradient averaged over x + sigma z, z ~ N(0, I), shown like vanilla
 * saliency (|.|, max over channels, min-max).
 *
 * Noise: sample s, value p of an image is normal number p of stream s under `seed` (util/random.ts), the
 * same for every image of a batch, so a map never depends on which images ran beside it, and the same in
 * every JavaScript engine and in the Python reference.
 */
export const smoothGrad = scoped(async function smoothGrad(model: Model, x: Tensor, opts: SmoothGradOptions = {}): Promise<Attribution> {
  assertImageBatch(model, x);
  const samples = opts.samples ?? 50;
  const sigma = opts.sigma ?? 0.15;
  const scale = opts.sigmaScale ?? 'relative';
  const seed = opts.seed ?? 0;
  if (!(samples >= 1) || !Number.isInteger(samples))
    throw new KernelInputError(`smoothgrad samples must be a positive integer, got ${samples}`);
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new KernelInputError(`smoothgrad sigma must be a finite number >= 0, got ${sigma}`);
  if (scale !== 'relative' && scale !== 'absolute')
    throw new KernelInputError(`smoothgrad sigma scale must be relative or absolute, got ${scale}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new KernelInputError(`smoothgrad seed must be an integer in [0, 2^32), got ${seed}`);
  const batchSize = batchSizeOption('smoothgrad', opts.batchSize, 16);
  const e = model.engine;
  const trace = model.forward(x, { forBackward: false });
  const targets = await resolveTargets(model, trace, opts.target);
  const perPass = imagesPerPass(e, trace, batchSize);
  trace.release();
  const host = await x.readF32();
  const plane = x.size / x.shape[0];
  const noise = new Float64Array(plane);
  const sum = await accumulateGradients(
    model,
    x.shape,
    targets,
    samples,
    perPass,
    (image, first, count) => {
      const src = host.subarray(image * plane, (image + 1) * plane);
      const sd = scale === 'absolute' ? sigma : sigma * valueRange(src);
      const out = new Float32Array(count * plane);
      for (let s = 0; s < count; s++) {
        fillNormal(noise, seed, first + s);
        for (let p = 0; p < plane; p++) out[s * plane + p] = src[p] + sd * noise[p];
      }
      return out;
    },
    opts.onProgress,
  );
  const mean = affine(e, sum, 1 / samples, 0);
  const maps = saliencyFromGradient(model, mean);
  e.releaseAll(sum, mean);
  return { method: 'smoothgrad', kind: 'heatmap', maps, targets };
});

function valueRange(values: Float32Array): number {
  const [lo, hi] = valueBounds(values);
  return hi - lo;
}
