import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';
import { argmaxRow, classSelector } from '../graph/outputs.js';
import { conv2dForward } from '../kernels/conv2d.js';
import { matmul } from '../kernels/matmul.js';
import { revealByRank } from '../kernels/reveal.js';
import { softmax } from '../kernels/softmax.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link causalMetrics}: pixels per step, batching and the insertion substrate's blur. */
export interface CausalMetricOptions {
  /** Pixels changed per step (default ceil(H*W / 224), i.e. 224 per step at 224x224). */
  pixelsPerStep?: number;
  /** Step images per forward pass (default 32; fewer where they would not fit the binding limit: graph/pass-size.ts). */
  batchSize?: number;
  /** Gaussian blur of the insertion substrate (default sigma 5, 11x11). */
  blurSigma?: number;
  blurSize?: number;
}

/** One insertion or deletion curve and the area under it. */
export interface CausalCurve {
  /** Softmax probability of the clean top-1 class after each step (step 0 = nothing changed). */
  scores: number[];
  auc: number;
}

/** Insertion and deletion curves of one image's map for its target class. */
export interface CausalResult {
  target: number;
  insertion: CausalCurve;
  deletion: CausalCurve;
}

/** AUC by the trapezoid rule over steps normalised to [0, 1] (RISE's `auc`). */
export function trapezoidAuc(scores: readonly number[]): number {
  if (scores.length < 2) return scores[0] ?? 0;
  const sum = scores.reduce((a, b) => a + b, 0);
  return (sum - scores[0] / 2 - scores[scores.length - 1] / 2) / (scores.length - 1);
}

/** Pixel indices by descending saliency (ties: lower index first), as ranks: rank[p] = position of p. */
export function saliencyRanks(saliency: ArrayLike<number>): Uint32Array {
  const order = Array.from({ length: saliency.length }, (_, i) => i).sort((a, b) => saliency[b] - saliency[a] || a - b);
  const rank = new Uint32Array(saliency.length);
  order.forEach((p, r) => (rank[p] = r));
  return rank;
}

export function gaussianKernel(size: number, sigma: number): Float32Array {
  const k = new Float32Array(size * size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) sum += k[y * size + x] = Math.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma * sigma));
  return k.map((v) => v / sum);
}

/** Depthwise Gaussian blur with zero padding (as RISE's reference code does), on the GPU. */
export const blur = scoped(function blur(model: Model, x: Tensor, size: number, sigma: number): Tensor {
  const e = model.engine;
  const c = x.shape[1];
  const k = gaussianKernel(size, sigma);
  const weights = new Float32Array(c * size * size);
  for (let ch = 0; ch < c; ch++) weights.set(k, ch * size * size);
  const w = e.upload(weights, [c, 1, size, size], 'blur.kernel');
  const y = conv2dForward(e, x, w, null, { padding: (size - 1) / 2, groups: c });
  e.release(w);
  return y;
});

/**
 * Insertion and deletion curves for one image (1, 3, H, W) and its saliency (H*W values): pixels in
 * order of descending saliency are deleted (set to 0 in the normalised input) or inserted (copied
 * from the image onto a blurred copy); every step is scored by the softmax probability of the clean
 * top-1 class; the steps run as batched forward passes.
 */
export const causalMetrics = scoped(async function causalMetrics(
  model: Model,
  image: Tensor,
  saliency: ArrayLike<number>,
  opts: CausalMetricOptions = {},
): Promise<CausalResult> {
  const e = model.engine;
  if (image.rank !== 4 || image.shape[0] !== 1)
    throw new KernelInputError(`insertion/deletion take one image (1, 3, H, W), got [${image.shape.join(', ')}]`);
  const [, , h, w] = image.shape;
  const plane = h * w;
  if (saliency.length !== plane) throw new KernelInputError(`saliency has ${saliency.length} values for a ${h}x${w} image`);
  const step = opts.pixelsPerStep ?? Math.ceil(plane / 224);
  if (!Number.isInteger(step) || step < 1)
    throw new KernelInputError(`insertion/deletion: pixelsPerStep must be a positive integer, got ${step}`);
  const blurSize = opts.blurSize ?? 11;
  const blurSigma = opts.blurSigma ?? 5;
  if (!Number.isInteger(blurSize) || blurSize < 1 || blurSize % 2 === 0)
    throw new KernelInputError(`insertion/deletion: blurSize must be an odd positive integer, got ${blurSize}`);
  if (!(blurSigma > 0 && Number.isFinite(blurSigma)))
    throw new KernelInputError(`insertion/deletion: blurSigma must be a finite number > 0, got ${blurSigma}`);
  const batchSize = batchSizeOption('insertion/deletion', opts.batchSize, 32);
  const steps = Math.ceil(plane / step);
  const thresholds = Array.from({ length: steps + 1 }, (_, k) => Math.min(plane, k * step));

  const clean = model.forward(image, { forBackward: false });
  const logits = await clean.logits.readF32();
  const perPass = imagesPerPass(e, clean, batchSize);
  clean.release();
  const target = argmaxRow(logits, 0, model.numClasses);
  const rank = e.upload(saliencyRanks(saliency), [plane], 'rank');
  const zeros = e.zeros(image.shape, 'f32', 'zeros');
  const blurred = blur(model, image, blurSize, blurSigma);
  const selector = classSelector(model, target);
  const curve = async (revealed: Tensor, base: Tensor) => {
    const scores: number[] = [];
    for (let first = 0; first < thresholds.length; first += perPass) {
      const chunk = thresholds.slice(first, first + perPass);
      const t = e.upload(Uint32Array.from(chunk), [chunk.length], 'thresholds');
      const batch = revealByRank(e, rank, t, revealed, base);
      const trace = model.forward(batch, { forBackward: false });
      const probs = softmax(e, trace.logits);
      const p = matmul(e, probs, selector);
      scores.push(...(await p.readF32()));
      trace.release();
      e.releaseAll(t, batch, probs, p);
    }
    return { scores, auc: trapezoidAuc(scores) };
  };
  try {
    const insertion = await curve(image, blurred);
    const deletion = await curve(zeros, image);
    return { target, insertion, deletion };
  } finally {
    e.releaseAll(rank, zeros, blurred, selector);
  }
});
