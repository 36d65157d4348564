import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { affine, binary, unary } from '../kernels/elementwise.js';
import { reduce } from '../kernels/reduce.js';
import {
  activationAndGradient,
  assertImageBatch,
  finishCam,
  inputSize,
  weightedChannelSum,
  type Attribution,
  type MethodOptions,
} from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Gradient-weighted CAM variants that differ only in how the channel weights are formed, all as in
 * pytorch-grad-cam: ReLU of the weighted channel sum, upsample, min-max.
 */
type Variant = 'grad-cam++' | 'xgrad-cam' | 'hires-cam';

/**
 * Grad-CAM++ (Chattopadhay et al. 2018): channel weights w_k = sum_ij a_ij ReLU(g_ij) with a = g^2 / (2 g^2 + g^3 sum_ij A_k), then
 * ReLU, min-max and upsampling as Grad-CAM. (N, 1, H, W).
 */
export const gradCamPlusPlus = scoped(function gradCamPlusPlus(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  return variant(model, x, opts, 'grad-cam++');
});
/**
 * XGrad-CAM (Fu et al. 2020): channel weights w_k = sum_ij g A / sum_ij A, then ReLU, min-max and upsampling as Grad-CAM. (N, 1, H,
 * W).
 */
export const xGradCam = scoped(function xGradCam(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  return variant(model, x, opts, 'xgrad-cam');
});
/**
 * HiResCAM (Draelos and Carin 2020): the element-wise product g * A summed over channels (no spatial averaging of the gradient), then
 * ReLU, min-max and upsampling. (N, 1, H, W).
 */
export const hiResCam = scoped(function hiResCam(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  return variant(model, x, opts, 'hires-cam');
});

async function variant(model: Model, x: Tensor, opts: MethodOptions, method: Variant): Promise<Attribution> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const { A, g, targets } = await activationAndGradient(model, x, layer, opts.target);
  const weights = channelWeights(model, method, A, g);
  const raw = weightedChannelSum(e, weights, A);
  const maps = finishCam(e, raw, inputSize(x));
  e.releaseAll(A, g, weights, raw);
  return { method, kind: 'heatmap', maps, targets, layer };
}

/** Guards XGrad-CAM's division by sum_ij A_k (a channel that is zero everywhere); pytorch-grad-cam's 1e-7. */
const XGRAD_EPS = 1e-7;
/** Guards Grad-CAM++'s alpha denominator (zero where g is zero); pytorch-grad-cam's 1e-6. */
const GRAD_CAM_PP_EPS = 1e-6;

function channelWeights(model: Model, method: Variant, A: Tensor, g: Tensor): Tensor {
  const e = model.engine;
  if (method === 'hires-cam') return e.clone(g); // element-wise g * A: no spatial averaging
  const sumA = reduce(e, 'sum', A, [2, 3], true);
  if (method === 'xgrad-cam') {
    // w_k = sum_ij g_k A_k / (sum_ij A_k + eps)
    const gA = binary(e, 'mul', g, A);
    const num = reduce(e, 'sum', gA, [2, 3], true);
    const den = affine(e, sumA, 1, XGRAD_EPS);
    const w = binary(e, 'div', num, den);
    e.releaseAll(sumA, gA, num, den);
    return w;
  }
  // Grad-CAM++ (Chattopadhyay et al. 2018), with exp(S) gradients approximated as in pytorch-grad-cam:
  // a = g^2 / (2 g^2 + sum_ij A * g^3 + eps) (the paper's eq. 19), zero where g == 0; w_k = sum_ij a * ReLU(g).
  const g2 = binary(e, 'mul', g, g);
  const g3 = binary(e, 'mul', g2, g);
  const sumAg3 = binary(e, 'mul', g3, sumA);
  const twoG2 = affine(e, g2, 2, 0);
  const den0 = binary(e, 'add', twoG2, sumAg3);
  const den = affine(e, den0, 1, GRAD_CAM_PP_EPS);
  const a = binary(e, 'div', g2, den); // g == 0 gives 0 / eps = 0, the where() of the reference
  const reluG = unary(e, 'relu', g);
  const aReluG = binary(e, 'mul', a, reluG);
  const w = reduce(e, 'sum', aReluG, [2, 3], true);
  e.releaseAll(sumA, g2, g3, sumAg3, twoG2, den0, den, a, reluG, aReluG);
  return w;
}
