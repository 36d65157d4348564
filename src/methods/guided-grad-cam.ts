import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary } from '../kernels/elementwise.js';
import type { Attribution, MethodOptions } from './common.js';
import { gradCam } from './grad-cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Guided Grad-CAM: guided backprop (N, 3, H, W) times the upsampled Grad-CAM (N, 1, H, W), broadcast
 * over channels. Zero wherever Grad-CAM is zero.
 */
export const guidedGradCam = scoped(async function guidedGradCam(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  const e = model.engine;
  const gc = await gradCam(model, x, opts);
  const gb = await guidedBackprop(model, x, { target: gc.targets });
  const maps = binary(e, 'mul', gb.maps, gc.maps);
  e.releaseAll(gc.maps, gb.maps);
  return { method: 'guided-grad-cam', kind: 'signed', maps, targets: gc.targets, layer: gc.layer };
});
