import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary, clamp, pow } from '../kernels/elementwise.js';
import type { Attribution, MethodOptions } from './common.js';
import { gradCam } from './grad-cam.js';
import { layerCam } from './layer-cam.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Hybrid Grad-LayerCAM: H = minmax(GradCAM)^alpha * minmax(LayerCAM)^(1 - alpha), inputs clamped to [0, 1].
 * alpha = 1 gives Grad-CAM and alpha = 0 gives LayerCAM (0^0 = 1).
 */
export const hybridGradLayerCam = scoped(async function hybridGradLayerCam(
  model: Model,
  x: Tensor,
  opts: MethodOptions & { alpha?: number } = {},
): Promise<Attribution> {
  const alpha = opts.alpha ?? 0.7;
  if (!(alpha >= 0 && alpha <= 1)) throw new KernelInputError(`hybrid alpha must be in [0, 1], got ${alpha}`);
  const e = model.engine;
  const gc = await gradCam(model, x, opts);
  const lc = await layerCam(model, x, { ...opts, target: gc.targets });
  const gcc = clamp(e, gc.maps, 0, 1);
  const lcc = clamp(e, lc.maps, 0, 1);
  const a = pow(e, gcc, alpha);
  const b = pow(e, lcc, 1 - alpha);
  const maps = binary(e, 'mul', a, b);
  e.releaseAll(gc.maps, lc.maps, gcc, lcc, a, b);
  return { method: 'hybrid', kind: 'heatmap', maps, targets: gc.targets, layer: gc.layer };
});
