import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { affine, binary } from '../kernels/elementwise.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { accumulateGradients } from './sampling.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link integratedGradients}. */
export interface IntegratedGradientsOptions extends MethodOptions {
  /** Riemann steps (default 50). */
  steps?: number;
  /** Baseline x' in the normalised input space: a number (default 0) or a tensor shaped like x. */
  baseline?: number | Float32Array;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Integrated Gradients (Sundararajan et al. 2017), right Riemann sum (Captum's `riemann_right`):
 * IG = (x - x') * (1/m) sum_{k=1..m} dy_c/dx at x' + (k/m)(x - x'). Signed (N, 3, H, W).
 * Completeness: sum(IG) ~= y_c(x) - y_c(x'), closer as m grows.
 */
export const integratedGradients = scoped(async function integratedGradients(
  model: Model,
  x: Tensor,
  opts: IntegratedGradientsOptions = {},
): Promise<Attribution> {
  assertImageBatch(model, x);
  const steps = opts.steps ?? 50;
  if (!(steps >= 1) || !Number.isInteger(steps))
    throw new KernelInputError(`integrated gradients steps must be a positive integer, got ${steps}`);
  const e = model.engine;
  const trace = model.forward(x, { forBackward: false });
  const targets = await resolveTargets(model, trace, opts.target);
  trace.release();
  const host = await x.readF32();
  const plane = x.size / x.shape[0];
  const base = typeof opts.baseline === 'object' ? opts.baseline : new Float32Array(host.length).fill(opts.baseline ?? 0);
  if (base.length !== host.length) throw new KernelInputError(`baseline has ${base.length} values, the batch ${host.length}`);
  const sum = await accumulateGradients(
    model,
    x.shape,
    targets,
    steps,
    opts.batchSize ?? 16,
    (image, first, count) => {
      const out = new Float32Array(count * plane);
      for (let s = 0; s < count; s++) {
        const alpha = (first + s + 1) / steps;
        for (let p = 0; p < plane; p++) {
          const b = base[image * plane + p];
          out[s * plane + p] = b + alpha * (host[image * plane + p] - b);
        }
      }
      return out;
    },
    opts.onProgress,
  );
  const baseT = e.upload(base, x.shape, 'ig.baseline');
  const delta = binary(e, 'sub', x, baseT);
  const meanGrad = affine(e, sum, 1 / steps, 0);
  const maps = binary(e, 'mul', delta, meanGrad);
  e.releaseAll(sum, baseT, delta, meanGrad);
  return { method: 'integrated-gradients', kind: 'signed', maps, targets };
});
