import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { reduce } from '../kernels/reduce.js';
import {
  activationAndGradient,
  assertImageBatch,
  finishCam,
  inputSize,
  weightedChannelSum,
  type Attribution,
  type MethodOptions,
} from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Grad-CAM (Selvaraju et al. 2017): alpha_k = mean_ij g_k; map = ReLU(sum_k alpha_k A_k), bilinear
 * upsampling to the input size, min-max. Returns (N, 1, H, W) in [0, 1].
 */
export const gradCam = scoped(async function gradCam(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  const raw = await gradCamRaw(model, x, opts);
  const maps = finishCam(model.engine, raw.cam, inputSize(x));
  model.engine.release(raw.cam);
  return { method: 'grad-cam', kind: 'heatmap', maps, targets: raw.targets, layer: raw.layer };
});

/** sum_k alpha_k A_k at the layer's resolution, before ReLU and normalisation: (N, 1, h, w). */
export const gradCamRaw = scoped(async function gradCamRaw(
  model: Model,
  x: Tensor,
  opts: MethodOptions = {},
): Promise<{ cam: Tensor; targets: number[]; layer: string }> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const { A, g, targets } = await activationAndGradient(model, x, layer, opts.target);
  const cam = gradCamFromGradient(e, A, g);
  e.releaseAll(A, g);
  return { cam, targets, layer };
});

/** A, g: (N, K, h, w) -> sum_k mean_ij(g_k) A_k: (N, 1, h, w). */
export const gradCamFromGradient = scoped(function gradCamFromGradient(e: Engine, A: Tensor, g: Tensor): Tensor {
  const alpha = reduce(e, 'mean', g, [2, 3], true);
  const cam = weightedChannelSum(e, alpha, A);
  e.release(alpha);
  return cam;
});
