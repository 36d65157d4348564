import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { affine } from '../kernels/elementwise.js';
import { gaussianRandom } from '../util/random.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { saliencyFromGradient } from './saliency.js';
import { accumulateGradients } from './sampling.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link smoothGrad}. */
export interface SmoothGradOptions extends MethodOptions {
  /** Noisy copies per image (default 50). */
  samples?: number;
  /** Noise standard deviation as a fraction of the image's value range, max(x) - min(x) (default 0.15). */
  sigma?: number;
  seed?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * SmoothGrad (Smilkov et al. 2017): the gradient averaged over x + N(0, (sigma (max - min))^2), shown like
 * vanilla saliency (|.|, max over channels, min-max). Noise is seeded and reproducible.
 */
export const smoothGrad = scoped(async function smoothGrad(model: Model, x: Tensor, opts: SmoothGradOptions = {}): Promise<Attribution> {
  assertImageBatch(model, x);
  const samples = opts.samples ?? 50;
  const sigmaFrac = opts.sigma ?? 0.15;
  if (!(samples >= 1) || !Number.isInteger(samples))
    throw new KernelInputError(`smoothgrad samples must be a positive integer, got ${samples}`);
  const e = model.engine;
  const trace = model.forward(x, { forBackward: false });
  const targets = await resolveTargets(model, trace, opts.target);
  trace.release();
  const host = await x.readF32();
  const plane = x.size / x.shape[0];
  const rng = gaussianRandom(opts.seed ?? 0);
  const sum = await accumulateGradients(
    model,
    x.shape,
    targets,
    samples,
    opts.batchSize ?? 16,
    (image, _first, count) => {
      const src = host.subarray(image * plane, (image + 1) * plane);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of src) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const sigma = sigmaFrac * (hi - lo);
      const out = new Float32Array(count * plane);
      for (let s = 0; s < count; s++) for (let p = 0; p < plane; p++) out[s * plane + p] = src[p] + sigma * rng();
      return out;
    },
    opts.onProgress,
  );
  const mean = affine(e, sum, 1 / samples, 0);
  const maps = saliencyFromGradient(model, mean);
  e.releaseAll(sum, mean);
  return { method: 'smoothgrad', kind: 'heatmap', maps, targets };
});
