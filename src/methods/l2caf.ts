import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import { bilinearResize } from '../kernels/resize.js';
import { assertImageBatch, inputSize, targetsFromLogits, type Attribution, type MethodOptions } from './common.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link l2caf}: the objective and the optimiser's schedule. */
export interface L2CafOptions extends MethodOptions {
  /** 'oblivious': mean squared difference to the original logits; 'specific': -y_c + sum_{j != c} y_j. */
  mode?: 'oblivious' | 'specific';
  maxSteps?: number;
  learningRate?: number;
  finalLearningRate?: number;
  /** Stop when the loss changes by less than `tolerance` over `patience` steps. */
  tolerance?: number;
  patience?: number;
  /** Called after every step with the mean of the images' latest losses. */
  onProgress?: (step: number, maxSteps: number, loss: number) => void;
}

/** How one image's L2-CAF optimisation went: its losses, steps taken and whether it stopped on a plateau. */
export interface L2CafTrace {
  losses: number[];
  steps: number;
  stoppedEarly: boolean;
}

/**
 * L2-CAF (Taha et al. 2020): a filter F (h x w) multiplies every channel of the frozen activation A at
 * `layer`, normalised to unit L2 norm: A * F / ||F||. A is computed once; each step runs only the layers
 * after it, forward and backward to F. SGD with a linear learning-rate decay and a plateau stop.
 * Heatmap: |F| / ||F||, upsampled, min-max. (N, 1, H, W).
 *
 * Every image of the batch gets its own filter, optimised side by side: one forward and backward pass
 * over the batch per step, and two small readbacks per step for the whole batch rather than per image
 * (the readbacks, not the arithmetic, bound the cost of the short tail after `layer`). The layers after
 * `layer` treat images independently, so each filter follows exactly the path it would alone; an image
 * whose loss has plateaued keeps its filter while the others go on.
 */
export const l2caf = scoped(async function l2caf(
  model: Model,
  x: Tensor,
  opts: L2CafOptions = {},
): Promise<Attribution & { optimisation: L2CafTrace[] }> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const mode = opts.mode ?? 'oblivious';
  const n = x.shape[0];
  const trace = model.forward(x, { keep: [layer], forBackward: false });
  const A = e.clone(trace.activation(layer), 'l2caf.A');
  const y0 = await trace.logits.readF32();
  trace.release();
  try {
    if (A.rank !== 4) throw new KernelInputError(`L2-CAF needs a spatial layer (N, C, H, W); "${layer}" is [${A.shape.join(', ')}]`);
    const [, , fh, fw] = A.shape;
    const targets = targetsFromLogits(model, y0, n, opts.target);
    const { filters, optimisation } = await optimiseFilters(model, layer, A, y0, targets, mode, opts);
    const heat = new Float32Array(n * fh * fw);
    filters.forEach((f, i) => {
      const norm = Math.hypot(...f) || 1;
      for (let p = 0; p < f.length; p++) heat[i * fh * fw + p] = Math.abs(f[p]) / norm;
    });
    const small = e.upload(heat, [n, 1, fh, fw], 'l2caf.filters');
    const up = bilinearResize(e, small, inputSize(x));
    const maps = minmaxNormalize(e, up, [1, 2, 3]);
    e.releaseAll(small, up);
    return { method: `l2caf-${mode}`, kind: 'heatmap', maps, targets, layer, optimisation };
  } finally {
    e.release(A);
  }
});

async function optimiseFilters(
  model: Model,
  layer: string,
  A: Tensor,
  y0: Float32Array,
  targets: number[],
  mode: 'oblivious' | 'specific',
  opts: L2CafOptions,
) {
  const e = model.engine;
  const [n, , fh, fw] = A.shape;
  const plane = fh * fw;
  const K = model.numClasses;
  const maxSteps = opts.maxSteps ?? 1000;
  const lr0 = opts.learningRate ?? 0.5;
  const lr1 = opts.finalLearningRate ?? 1e-5;
  const tolerance = opts.tolerance ?? 1e-6;
  const patience = opts.patience ?? 50;
  const filters = Array.from({ length: n }, () => new Float32Array(plane).fill(1));
  const optimisation: L2CafTrace[] = Array.from({ length: n }, () => ({ losses: [], steps: 0, stoppedEarly: false }));
  const active = new Set(filters.keys());
  const u = new Float32Array(n * plane);
  const norms = new Float64Array(n);
  for (let step = 0; step < maxSteps && active.size; step++) {
    for (let i = 0; i < n; i++) {
      norms[i] = Math.hypot(...filters[i]);
      for (let p = 0; p < plane; p++) u[i * plane + p] = filters[i][p] / norms[i];
    }
    const uT = e.upload(u, [n, 1, fh, fw], 'l2caf.u');
    const filtered = binary(e, 'mul', A, uT); // A * F / ||F||, per image
    const trace = model.forward(filtered, { startAt: { layer, value: filtered } });
    const y = await trace.logits.readF32();
    const seedHost = new Float32Array(n * K); // stopped images contribute no gradient
    for (const i of active) {
      const { loss, grad } = lossAndGradient(y.subarray(i * K, (i + 1) * K), y0.subarray(i * K, (i + 1) * K), targets[i], K, mode);
      optimisation[i].losses.push(loss);
      seedHost.set(grad, i * K);
    }
    const seed = e.upload(seedHost, [n, K], 'l2caf.dloss');
    const back = model.backward(trace, { grad: seed });
    // dL/du_ij = sum_c dL/dA'_cij * A_cij; then through u = F/||F||: (q - u (u.q)) / ||F||.
    const gA = binary(e, 'mul', back.input!, A);
    const qT = reduce(e, 'sum', gA, [1], false);
    const q = await qT.readF32();
    e.releaseAll(uT, seed, gA, qT);
    back.release();
    trace.release();
    e.release(filtered);
    const lr = maxSteps > 1 ? lr0 + ((lr1 - lr0) * step) / (maxSteps - 1) : lr0;
    for (const i of [...active]) {
      const o = plane * i;
      let uq = 0;
      for (let p = 0; p < plane; p++) uq += u[o + p] * q[o + p];
      for (let p = 0; p < plane; p++) filters[i][p] -= (lr * (q[o + p] - u[o + p] * uq)) / norms[i];
      const losses = optimisation[i].losses;
      optimisation[i].steps = losses.length;
      if (step >= patience && Math.abs(losses[step] - losses[step - patience]) < tolerance) {
        optimisation[i].stoppedEarly = true;
        active.delete(i);
      }
    }
    if (opts.onProgress) {
      let sum = 0;
      for (const t of optimisation) sum += t.losses[t.losses.length - 1];
      opts.onProgress(step + 1, maxSteps, sum / n);
    }
  }
  return { filters, optimisation };
}

export function lossAndGradient(
  y: Float32Array,
  y0: Float32Array,
  target: number,
  K: number,
  mode: 'oblivious' | 'specific',
): { loss: number; grad: Float32Array } {
  const grad = new Float32Array(K);
  let loss = 0;
  if (mode === 'oblivious') {
    for (let k = 0; k < K; k++) {
      const d = y[k] - y0[k];
      loss += (d * d) / K;
      grad[k] = (2 * d) / K;
    }
  } else {
    for (let k = 0; k < K; k++) {
      const sign = k === target ? -1 : 1;
      loss += sign * y[k];
      grad[k] = sign;
    }
  }
  return { loss, grad };
}
