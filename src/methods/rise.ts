import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';
import { classSelector } from '../graph/outputs.js';
import { addInPlace, affine } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { generateMaskedInputs, validateRiseMaskSpec, type MaskedBatch } from '../kernels/rise-masks.js';
import { softmax } from '../kernels/softmax.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link rise} (Petsiuk et al. 2018): mask count, grid size, keep probability, seed and batching. */
export interface RiseOptions extends MethodOptions {
  /** Number of masks N (default 4000). */
  masks?: number;
  /** Grid cells per side s (default 7). */
  s?: number;
  /** Keep probability p (default 0.5). */
  p?: number;
  seed?: number;
  /**
   * Masked images per forward pass (default 64), at most: fewer where that many would not fit the
   * adapter's binding limit (graph/pass-size.ts). Memory is flat in N: masks stream batch by batch.
   */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RiseSettings {
  masks: number;
  s: number;
  p: number;
  seed: number;
  batchSize: number;
}

export function riseSettings(opts: RiseOptions): RiseSettings {
  const settings = {
    masks: opts.masks ?? 4000,
    s: opts.s ?? 7,
    p: opts.p ?? 0.5,
    seed: opts.seed ?? 0,
    batchSize: batchSizeOption('rise', opts.batchSize, 64),
  };
  if (!Number.isInteger(settings.masks) || settings.masks < 1)
    throw new KernelInputError(`rise: masks must be a positive integer, got ${settings.masks}`);
  validateRiseMaskSpec(settings);
  return settings;
}

/**
 * RISE (Petsiuk et al. 2018): S_c = 1/(N p) sum_i softmax(f(x * M_i))_c M_i with seeded GPU masks
 * (kernels/rise-masks.ts). Batched forward passes; nothing is read back until the end.
 * Returns (N_images, 1, H, W), not min-maxed (docs/design.md §2.9: the normalisation is exactly 1/(N p)).
 */
export const rise = scoped(async function rise(model: Model, x: Tensor, opts: RiseOptions = {}): Promise<Attribution> {
  assertImageBatch(model, x);
  const e = model.engine;
  const settings = riseSettings(opts);
  const trace = model.forward(x, { forBackward: false });
  const targets = await resolveTargets(model, trace, opts.target);
  const perPass = { ...settings, batchSize: imagesPerPass(e, trace, settings.batchSize) };
  trace.release();
  const [n, c, h, w] = x.shape;
  const maps = e.empty([n, 1, h, w], 'f32', 'rise.maps');
  for (let i = 0; i < n; i++) {
    const image = e.empty([1, c, h, w], 'f32', 'rise.image');
    e.copy(x, i * c * h * w, image, 0, c * h * w);
    const selector = classSelector(model, targets[i]);
    const sum = e.zeros([1, h * w], 'f32', 'rise.sum');
    await forEachMaskBatch(
      model,
      perPass,
      image,
      async ({ masks, masked }, count) => {
        const t = model.forward(masked.reshape([count, c, h, w]), { forBackward: false });
        const probs = softmax(e, t.logits);
        t.release();
        const score = matmul(e, probs, selector); // (B, 1): probability of the target class
        const contribution = matmul(e, score, masks.reshape([count, h * w]), { transposeA: true }); // (1, H*W)
        addInPlace(e, sum, contribution);
        e.releaseAll(probs, score, contribution);
      },
      (done) => opts.onProgress?.(i * settings.masks + done, n * settings.masks),
    );
    const scaled = affine(e, sum, 1 / (settings.masks * settings.p), 0);
    e.copy(scaled, 0, maps, i * h * w, h * w);
    e.releaseAll(image, selector, sum, scaled);
  }
  return { method: 'rise', kind: 'heatmap', maps, targets };
});

/**
 * Generates the masks batch by batch with `images` (..., H, W) masked by each (masked: (count, ...,
 * H, W)) and hands them to `body`, releasing both afterwards, so GPU memory stays flat whatever N is.
 * Waits for the GPU once per batch only when progress is reported.
 */
export const forEachMaskBatch = scoped(async function forEachMaskBatch(
  model: Model,
  settings: RiseSettings,
  images: Tensor,
  body: (batch: MaskedBatch, count: number) => Promise<void>,
  onProgress?: (done: number) => void,
): Promise<void> {
  const e = model.engine;
  for (let first = 0; first < settings.masks; first += settings.batchSize) {
    const count = Math.min(settings.batchSize, settings.masks - first);
    const batch = generateMaskedInputs(e, settings, first, count, images);
    await body(batch, count);
    e.releaseAll(batch.masks, batch.masked);
    if (onProgress) {
      await e.finish();
      onProgress(first + count);
    }
  }
});
