import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { affine, binary, clamp, unary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { reduce } from '../kernels/reduce.js';
import { softmax } from '../kernels/softmax.js';
import { scoped } from '../gpu/scopes.js';

/** Class means of one exit on the GPU: mu (K, D), |mu_k|^2 and the per-class distance scales s_k as (1, K) rows. */
export interface GpuMeans {
  means: Tensor;
  normsSq: Tensor;
  scales: Tensor;
}

export function uploadMeans(e: Engine, means: Float32Array, scales: Float32Array, classes: number, dim: number, label: string): GpuMeans {
  const normsSq = new Float32Array(classes);
  for (let k = 0; k < classes; k++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += means[k * dim + d] ** 2;
    normsSq[k] = s;
  }
  return {
    means: e.upload(means, [classes, dim], `${label}.means`),
    normsSq: e.upload(normsSq, [1, classes], `${label}.normsSq`),
    scales: e.upload(scales, [1, classes], `${label}.scales`),
  };
}

export function releaseMeans(e: Engine, m: GpuMeans): void {
  e.releaseAll(m.means, m.normsSq, m.scales);
}

/**
 * Euclidean distances (B, K) between features f (B, D) and class means: sqrt(|f|^2 - 2 f.mu + |mu|^2),
 * one matmul for the cross term; clamped at 0 against rounding.
 */
export const classDistances = scoped(function classDistances(e: Engine, f: Tensor, m: GpuMeans): Tensor {
  const cross = matmul(e, f, m.means, { transposeB: true }); // (B, K)
  const f2 = binary(e, 'mul', f, f);
  const fNorm = reduce(e, 'sum', f2, [1], true); // (B, 1)
  const a = affine(e, cross, -2, 0);
  const b = binary(e, 'add', a, fNorm);
  const sq = binary(e, 'add', b, m.normsSq);
  const pos = clamp(e, sq, 0, 3.4e38);
  const d = unary(e, 'sqrt', pos);
  e.releaseAll(cross, f2, fNorm, a, b, sq, pos);
  return d;
});

/** E2CM's normalised distances d~_k = d_k / s_k (B, K): each class's distance over its own training-distance scale. */
export const normalisedDistances = scoped(function normalisedDistances(e: Engine, f: Tensor, m: GpuMeans): Tensor {
  const d = classDistances(e, f, m);
  const dn = binary(e, 'div', d, m.scales);
  e.release(d);
  return dn;
});

/** E2CM confidence: softmax over classes of -d~ / T. (B, K). */
export const classConfidences = scoped(function classConfidences(e: Engine, normalised: Tensor, temperature: number): Tensor {
  const logits = affine(e, normalised, -1 / temperature, 0);
  const conf = softmax(e, logits);
  e.release(logits);
  return conf;
});
