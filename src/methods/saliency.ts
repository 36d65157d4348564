import type { Tensor } from '../gpu/tensor.js';
import type { ReluRule } from '../kernels/relu.js';
import { unary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import type { Model } from '../graph/model.js';
import { assertImageBatch, oneHotSeed, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * d y_c / d x for each image under a ReLU backward rule, (N, 3, H, W). The shared core of saliency,
 * guided backprop and DeconvNet.
 */
export const inputGradient = scoped(async function inputGradient(
  model: Model,
  x: Tensor,
  opts: MethodOptions & { rule?: ReluRule },
): Promise<{ grad: Tensor; targets: number[] }> {
  assertImageBatch(model, x);
  const e = model.engine;
  const trace = model.forward(x);
  try {
    const targets = await resolveTargets(model, trace, opts.target);
    const seed = oneHotSeed(e, targets, model.numClasses);
    const back = model.backward(trace, { grad: seed }, { rule: opts.rule ?? 'standard' });
    e.release(seed);
    return { grad: back.input!, targets };
  } finally {
    trace.release();
  }
});

/** |d y_c / d x| folded to one channel by the max over channels, min-max per image (Simonyan et al. 2014). */
export const saliencyFromGradient = scoped(function saliencyFromGradient(model: Model, grad: Tensor): Tensor {
  const e = model.engine;
  const abs = unary(e, 'abs', grad);
  const max = reduce(e, 'max', abs, [1], true);
  const map = minmaxNormalize(e, max, [1, 2, 3]);
  e.releaseAll(abs, max);
  return map;
});

/** Vanilla saliency: (N, 1, H, W) in [0, 1]. */
export const saliency = scoped(async function saliency(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  const { grad, targets } = await inputGradient(model, x, opts);
  const maps = saliencyFromGradient(model, grad);
  model.engine.release(grad);
  return { method: 'saliency', kind: 'heatmap', maps, targets };
});
