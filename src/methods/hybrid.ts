import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary, clamp, pow } from '../kernels/elementwise.js';
import { activationAndGradient, assertImageBatch, finishCam, inputSize, type Attribution, type MethodOptions } from './common.js';
import { gradCamFromGradient } from './grad-cam.js';
import { layerCamFromGradient } from './layer-cam.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link hybridGradLayerCam}. */
export interface HybridOptions extends MethodOptions {
  /** Weight of Grad-CAM in the geometric blend (default 0.7): 1 gives Grad-CAM, 0 gives LayerCAM. */
  alpha?: number;
}

/** The default Grad-CAM weight of the hybrid blend. */
export const HYBRID_DEFAULT_ALPHA = 0.7;

/**
 * Hybrid Grad-LayerCAM: H = minmax(GradCAM)^alpha * minmax(LayerCAM)^(1 - alpha), inputs clamped to [0, 1].
 * alpha = 1 gives Grad-CAM and alpha = 0 gives LayerCAM (0^0 = 1). Both maps come from one forward and one
 * backward pass (they read the same activation and gradient), and the blend is not renormalised, so those
 * two limits hold exactly.
 */
export const hybridGradLayerCam = scoped(async function hybridGradLayerCam(
  model: Model,
  x: Tensor,
  opts: HybridOptions = {},
): Promise<Attribution> {
  const alpha = opts.alpha ?? HYBRID_DEFAULT_ALPHA;
  if (!(alpha >= 0 && alpha <= 1)) throw new KernelInputError(`hybrid alpha must be in [0, 1], got ${alpha}`);
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const { A, g, targets } = await activationAndGradient(model, x, layer, opts.target);
  const gcRaw = gradCamFromGradient(e, A, g);
  const lcRaw = layerCamFromGradient(e, A, g);
  e.releaseAll(A, g);
  const gc = finishCam(e, gcRaw, inputSize(x));
  const lc = finishCam(e, lcRaw, inputSize(x));
  const maps = blendHybrid(model, gc, lc, alpha);
  e.releaseAll(gcRaw, lcRaw, gc, lc);
  return { method: 'hybrid', kind: 'heatmap', maps, targets, layer };
});

/** clamp(gc, 0, 1)^alpha * clamp(lc, 0, 1)^(1 - alpha) for two (N, 1, H, W) maps. */
export const blendHybrid = scoped(function blendHybrid(model: Model, gc: Tensor, lc: Tensor, alpha: number): Tensor {
  const e = model.engine;
  const gcc = clamp(e, gc, 0, 1);
  const lcc = clamp(e, lc, 0, 1);
  const a = pow(e, gcc, alpha);
  const b = pow(e, lcc, 1 - alpha);
  const maps = binary(e, 'mul', a, b);
  e.releaseAll(gcc, lcc, a, b);
  return maps;
});
