import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Trace } from '../graph/executor.js';
import { globalAvgPoolForward } from '../kernels/pool.js';
import { scoped } from '../gpu/scopes.js';

/** How an exit's activation becomes a feature vector: global-average-pooled channels, or all of C*H*W. */
export type FeatureMode = 'gap' | 'full';

/** The feature of every image at `layer`: (N, D), owned by the caller. */
export const exitFeature = scoped(function exitFeature(e: Engine, trace: Trace, layer: string, mode: FeatureMode): Tensor {
  const A = trace.activation(layer);
  if (A.rank === 2) return e.clone(A, `${layer}.feature`);
  if (A.rank !== 4) throw new KernelInputError(`exit layer "${layer}" has shape [${A.shape.join(', ')}]; expected (N, C, H, W) or (N, D)`);
  const [n, c] = A.shape;
  if (mode === 'full') return e.clone(A, `${layer}.feature`).reshape([n, A.size / n]);
  return globalAvgPoolForward(e, A).reshape([n, c]);
});
