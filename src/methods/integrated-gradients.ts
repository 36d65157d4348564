import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';
import { binary } from '../kernels/elementwise.js';
import { blur } from '../metrics/insertion-deletion.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { quadrature, type QuadratureRule } from './quadrature.js';
import { accumulateGradients } from './sampling.js';
import { scoped } from '../gpu/scopes.js';

/**
 * The baseline x': a constant in the normalised input space (0 is the dataset mean), 'black' (pixel value 0,
 * i.e. -mean/std per channel), 'blur' (the image under RISE's insertion blur: Gaussian sigma 5, 11x11), or
 * explicit values shaped like x.
 */
export type IntegratedGradientsBaseline = number | 'black' | 'blur' | Float32Array;

/** Options of {@link integratedGradients}. */
export interface IntegratedGradientsOptions extends MethodOptions {
  /** Points on the path (default 50). */
  steps?: number;
  baseline?: IntegratedGradientsBaseline;
  /** Quadrature rule (default 'riemann_right'). */
  rule?: QuadratureRule;
  /**
   * Path points per forward + backward pass (default 16), at most: fewer where that many would not
   * fit the adapter's binding limit (graph/pass-size.ts).
   */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Integrated Gradients (Sundararajan et al. 2017): IG = (x - x') * sum_k w_k dy_c/dx at x' + alpha_k (x - x'),
 * with the nodes alpha_k and weights w_k of a quadrature rule on [0, 1] (default Captum's `riemann_right`:
 * alpha_k = k/m, w_k = 1/m). Signed (N, 3, H, W). Completeness: sum(IG) ~= y_c(x) - y_c(x'), closer as m grows.
 */
export const integratedGradients = scoped(async function integratedGradients(
  model: Model,
  x: Tensor,
  opts: IntegratedGradientsOptions = {},
): Promise<Attribution> {
  assertImageBatch(model, x);
  const steps = opts.steps ?? 50;
  const { alphas, weights } = quadrature(opts.rule ?? 'riemann_right', steps);
  const batchSize = batchSizeOption('integrated-gradients', opts.batchSize, 16);
  const e = model.engine;
  const trace = model.forward(x, { forBackward: false });
  const targets = await resolveTargets(model, trace, opts.target);
  const perPass = imagesPerPass(e, trace, batchSize);
  trace.release();
  const host = await x.readF32();
  const plane = x.size / x.shape[0];
  const base = await baselineValues(model, x, opts.baseline ?? 0);
  if (base.length !== host.length) throw new KernelInputError(`baseline has ${base.length} values, the batch ${host.length}`);
  const sum = await accumulateGradients(
    model,
    x.shape,
    targets,
    steps,
    perPass,
    (image, first, count) => {
      const out = new Float32Array(count * plane);
      for (let s = 0; s < count; s++) {
        const alpha = alphas[first + s];
        for (let p = 0; p < plane; p++) {
          const b = base[image * plane + p];
          out[s * plane + p] = b + alpha * (host[image * plane + p] - b);
        }
      }
      return out;
    },
    opts.onProgress,
    weights,
  );
  const baseT = e.upload(base, x.shape, 'ig.baseline');
  const delta = binary(e, 'sub', x, baseT);
  const maps = binary(e, 'mul', delta, sum);
  e.releaseAll(sum, baseT, delta);
  return { method: 'integrated-gradients', kind: 'signed', maps, targets };
});

/** The baseline as host values shaped like x. */
export async function baselineValues(model: Model, x: Tensor, baseline: IntegratedGradientsBaseline): Promise<Float32Array> {
  if (baseline instanceof Float32Array) return baseline;
  if (typeof baseline === 'number') {
    if (!Number.isFinite(baseline)) throw new KernelInputError(`integrated gradients baseline must be finite, got ${baseline}`);
    return new Float32Array(x.size).fill(baseline);
  }
  if (baseline === 'black') {
    const [n, c, h, w] = x.shape;
    const { mean, std } = model.info;
    const out = new Float32Array(x.size);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++) out.fill(-mean[ch] / std[ch], (i * c + ch) * h * w, (i * c + ch + 1) * h * w);
    return out;
  }
  if (baseline === 'blur') {
    const blurred = blur(model, x, 11, 5);
    const out = await blurred.readF32();
    model.engine.release(blurred);
    return out;
  }
  throw new KernelInputError(`unknown integrated gradients baseline "${String(baseline)}"; a number, black, blur or values shaped like x`);
}
