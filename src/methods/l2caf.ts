import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import { bilinearResize } from '../kernels/resize.js';
import { argmaxRow, assertImageBatch, inputSize, type Attribution, type MethodOptions } from './common.js';

export interface L2CafOptions extends MethodOptions {
  /** 'oblivious': mean squared difference to the original logits; 'specific': -y_c + sum_{j != c} y_j. */
  mode?: 'oblivious' | 'specific';
  maxSteps?: number;
  learningRate?: number;
  finalLearningRate?: number;
  /** Stop when the loss changes by less than `tolerance` over `patience` steps. */
  tolerance?: number;
  patience?: number;
  onProgress?: (step: number, maxSteps: number, loss: number) => void;
}

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
 */
export async function l2caf(model: Model, x: Tensor, opts: L2CafOptions = {}): Promise<Attribution & { optimisation: L2CafTrace[] }> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const mode = opts.mode ?? 'oblivious';
  const [n, c, h, w] = x.shape;
  const targets: number[] = [];
  const filters: Float32Array[] = [];
  const optimisation: L2CafTrace[] = [];
  let fh = 0;
  let fw = 0;
  for (let i = 0; i < n; i++) {
    const image = e.empty([1, c, h, w], 'f32', 'l2caf.image');
    e.copy(x, i * c * h * w, image, 0, c * h * w);
    const trace = model.forward(image, { keep: [layer], forBackward: false });
    const A = e.clone(trace.activation(layer), 'l2caf.A');
    const y0 = await trace.logits.readF32();
    trace.release();
    e.release(image);
    if (A.rank !== 4) {
      e.release(A);
      throw new KernelInputError(`L2-CAF needs a spatial layer (N, C, H, W); "${layer}" is [${A.shape.join(', ')}]`);
    }
    [fh, fw] = [A.shape[2], A.shape[3]];
    const target = opts.target === undefined || opts.target === 'top1' ? argmaxRow(y0, 0, model.numClasses) : typeof opts.target === 'number' ? opts.target : opts.target[i];
    targets.push(target);
    try {
      const { filter, losses, stoppedEarly } = await optimiseFilter(model, layer, A, y0, target, mode, opts);
      filters.push(filter);
      optimisation.push({ losses, steps: losses.length, stoppedEarly });
    } finally {
      e.release(A);
    }
  }
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
}

async function optimiseFilter(model: Model, layer: string, A: Tensor, y0: Float32Array, target: number, mode: 'oblivious' | 'specific', opts: L2CafOptions) {
  const e = model.engine;
  const [, , fh, fw] = A.shape;
  const K = model.numClasses;
  const maxSteps = opts.maxSteps ?? 1000;
  const lr0 = opts.learningRate ?? 0.5;
  const lr1 = opts.finalLearningRate ?? 1e-5;
  const tolerance = opts.tolerance ?? 1e-6;
  const patience = opts.patience ?? 50;
  const filter = new Float32Array(fh * fw).fill(1);
  const losses: number[] = [];
  let stoppedEarly = false;
  for (let step = 0; step < maxSteps; step++) {
    const norm = Math.hypot(...filter);
    const u = filter.map((v) => v / norm);
    const uT = e.upload(u, [1, 1, fh, fw], 'l2caf.u');
    const filtered = binary(e, 'mul', A, uT); // A * F / ||F||
    const trace = model.forward(filtered, { startAt: { layer, value: filtered } });
    const y = await trace.logits.readF32();
    const { loss, grad } = lossAndGradient(y, y0, target, K, mode);
    losses.push(loss);
    opts.onProgress?.(step + 1, maxSteps, loss);
    const seed = e.upload(grad, [1, K], 'l2caf.dloss');
    const back = model.backward(trace, { grad: seed });
    // dL/du_ij = sum_c dL/dA'_cij * A_cij; then through u = F/||F||: (q - u (u.q)) / ||F||.
    const gA = binary(e, 'mul', back.input!, A);
    const qT = reduce(e, 'sum', gA, [1], false);
    const q = await qT.readF32();
    e.releaseAll(uT, seed, gA, qT);
    back.release();
    trace.release();
    e.release(filtered);
    let uq = 0;
    for (let p = 0; p < q.length; p++) uq += u[p] * q[p];
    const lr = maxSteps > 1 ? lr0 + ((lr1 - lr0) * step) / (maxSteps - 1) : lr0;
    for (let p = 0; p < filter.length; p++) filter[p] -= (lr * (q[p] - u[p] * uq)) / norm;
    if (step >= patience && Math.abs(losses[step] - losses[step - patience]) < tolerance) {
      stoppedEarly = true;
      break;
    }
  }
  return { filter, losses, stoppedEarly };
}

export function lossAndGradient(y: Float32Array, y0: Float32Array, target: number, K: number, mode: 'oblivious' | 'specific'): { loss: number; grad: Float32Array } {
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
