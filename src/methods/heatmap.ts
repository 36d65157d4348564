import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { unary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import type { Attribution } from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * One saliency value per pixel for any attribution: heatmaps as they are; signed input-space maps
 * folded like vanilla saliency (|.|, max over channels, min-max). Used by insertion/deletion and the
 * localisation metrics, which rank pixels. (N, 1, H, W), owned by the caller.
 */
export const toHeatmap = scoped(function toHeatmap(e: Engine, a: Attribution): Tensor {
  if (a.kind === 'heatmap') return e.clone(a.maps, `${a.method}.heatmap`);
  const abs = unary(e, 'abs', a.maps);
  const max = reduce(e, 'max', abs, [1], true);
  const map = minmaxNormalize(e, max, [1, 2, 3]);
  e.releaseAll(abs, max);
  return map;
});
