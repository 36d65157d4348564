import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { minmaxNormalize } from '../kernels/reduce.js';
import { bilinearResize } from '../kernels/resize.js';
import { softmax } from '../kernels/softmax.js';
import {
  assertImageBatch,
  finishCam,
  inputSize,
  resolveTargets,
  weightedChannelSum,
  type Attribution,
  type MethodOptions,
} from './common.js';
import { classSelector } from '../graph/outputs.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';
import { scoped } from '../gpu/scopes.js';

/** Options of {@link scoreCam}. */
export interface ScoreCamOptions extends MethodOptions {
  /**
   * Masked images per forward pass (default 64), at most: fewer where that many would not fit the
   * adapter's binding limit (graph/pass-size.ts).
   */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Score-CAM (Wang et al. 2020) in pytorch-grad-cam's convention:
 *   M_k = minmax(up_ac(A_k))          each channel upsampled to the input (bilinear, align_corners=True, as
 *                                     pytorch-grad-cam's UpsamplingBilinear2d) and min-max normalised on its own
 *   s_k = y_c(x * M_k)                the target's logit on the input masked by M_k (normalised input space)
 *   w   = softmax_k(s)                over the layer's channels
 *   map = minmax(up(ReLU(sum_k w_k A_k)))
 * The final map is upsampled like every heatmap here (align_corners=False, as pytorch-grad-cam's cv2.resize).
 * One departure from pytorch-grad-cam: the masks' min-max uses the engine's eps 1e-7 (pytorch-grad-cam: 1e-8),
 * which moves no map by more than float rounding on real activations. The paper scores the softmax probability
 * minus the blank input's; pytorch-grad-cam, and this, score the logit (the subtraction alone would cancel in
 * the channel softmax, the change of score does not).
 *
 * One gradient-free forward pass per channel: the masked copies run in batches of `batchSize`, and nothing is
 * read back until the maps are done. (N, 1, H, W) in [0, 1].
 */
export const scoreCam = scoped(async function scoreCam(model: Model, x: Tensor, opts: ScoreCamOptions = {}): Promise<Attribution> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const batchSize = batchSizeOption('score-cam', opts.batchSize, 64);
  model.assertLayer(layer);
  const trace = model.forward(x, { keep: [layer], forBackward: false });
  let A: Tensor;
  let targets: number[];
  let perPass: number;
  try {
    targets = await resolveTargets(model, trace, opts.target);
    A = e.clone(trace.activation(layer), 'score-cam.A');
    perPass = imagesPerPass(e, trace, batchSize);
  } finally {
    trace.release();
  }
  if (A.rank !== 4) {
    e.release(A);
    throw new KernelInputError(`layer "${layer}" has shape [${A.shape.join(', ')}]; Score-CAM needs a spatial (N, C, H, W) layer`);
  }
  const [n, K, h, w] = A.shape;
  const [H, W] = inputSize(x);
  const c = x.shape[1];
  const scores = e.empty([n, K], 'f32', 'score-cam.scores');
  for (let i = 0; i < n; i++) {
    const image = e.empty([1, c, H, W], 'f32', 'score-cam.image');
    e.copy(x, i * c * H * W, image, 0, c * H * W);
    const selector = classSelector(model, targets[i]);
    for (let k0 = 0; k0 < K; k0 += perPass) {
      const count = Math.min(perPass, K - k0);
      const channels = e.empty([1, count, h, w], 'f32', 'score-cam.channels');
      e.copy(A, (i * K + k0) * h * w, channels, 0, count * h * w);
      const up = bilinearResize(e, channels, [H, W], { alignCorners: true });
      const masks = minmaxNormalize(e, up, [2, 3]).reshape([count, 1, H, W]);
      const masked = binary(e, 'mul', masks, image); // (count, C, H, W)
      const t = model.forward(masked, { forBackward: false });
      const score = matmul(e, t.logits, selector); // (count, 1): the target's logit per mask
      t.release();
      e.copy(score, 0, scores, i * K + k0, count);
      e.releaseAll(channels, up, masks, masked, score);
      if (opts.onProgress) {
        await e.finish();
        opts.onProgress(i * K + k0 + count, n * K);
      }
    }
    e.releaseAll(image, selector);
  }
  const weights = softmax(e, scores).reshape([n, K, 1, 1]);
  const raw = weightedChannelSum(e, weights, A);
  const maps = finishCam(e, raw, [H, W]);
  e.releaseAll(scores, weights, raw, A);
  return { method: 'score-cam', kind: 'heatmap', maps, targets, layer };
});
