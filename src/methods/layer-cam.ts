import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { binary, unary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import { bilinearResize } from '../kernels/resize.js';
import { activationAndGradient, assertImageBatch, finishCam, inputSize, type Attribution, type MethodOptions } from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * LayerCAM (Jiang et al. 2021): M = ReLU(sum_k ReLU(g_k(i,j)) * A_k(i,j)), per position; upsample; min-max.
 * (N, 1, H, W) in [0, 1]. The outer ReLU is the paper's; it matters only at layers whose activation can be
 * negative (a conv or batch-norm output).
 */
export const layerCam = scoped(async function layerCam(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  assertImageBatch(model, x);
  const e = model.engine;
  const layer = opts.layer ?? model.defaultCamLayer;
  const raw = await layerCamRaw(model, x, layer, opts);
  const maps = finishCam(e, raw.cam, inputSize(x));
  e.release(raw.cam);
  return { method: 'layer-cam', kind: 'heatmap', maps, targets: raw.targets, layer };
});

/** sum_k ReLU(g_k) * A_k at the layer's resolution: (N, 1, h, w). */
export const layerCamRaw = scoped(async function layerCamRaw(
  model: Model,
  x: Tensor,
  layer: string,
  opts: MethodOptions,
): Promise<{ cam: Tensor; targets: number[] }> {
  const e = model.engine;
  const { A, g, targets } = await activationAndGradient(model, x, layer, opts.target);
  const cam = layerCamFromGradient(e, A, g);
  e.releaseAll(A, g);
  return { cam, targets };
});

/** A, g: (N, K, h, w) -> sum_k ReLU(g_k) * A_k per position: (N, 1, h, w). */
export const layerCamFromGradient = scoped(function layerCamFromGradient(e: Engine, A: Tensor, g: Tensor): Tensor {
  const reluG = unary(e, 'relu', g);
  const prod = binary(e, 'mul', reluG, A);
  const cam = reduce(e, 'sum', prod, [1], true);
  e.releaseAll(reluG, prod);
  return cam;
});

/**
 * Multi-layer LayerCAM fusion: each layer's min-max map scaled by tanh(2 M) (the paper's scale for
 * shallow layers, applied to every layer), upsampled to the largest layer, element-wise max; then
 * upsampled to the input and min-maxed.
 */
export const layerCamFused = scoped(async function layerCamFused(
  model: Model,
  x: Tensor,
  layers: string[],
  opts: Omit<MethodOptions, 'layer'> = {},
): Promise<Attribution> {
  if (!layers.length) throw new KernelInputError('layer-cam fusion needs at least one layer');
  assertImageBatch(model, x);
  const e = model.engine;
  const scaled: Tensor[] = [];
  let targets: number[] = [];
  for (const layer of layers) {
    const raw = await layerCamRaw(model, x, layer, { ...opts, target: targets.length ? targets : opts.target });
    targets = raw.targets;
    const norm = minmaxNormalize(e, raw.cam, [1, 2, 3]);
    const twice = binary(e, 'add', norm, norm);
    const tanh = unary(e, 'tanh', twice);
    scaled.push(tanh);
    e.releaseAll(raw.cam, norm, twice);
  }
  const largest = scaled.reduce((a, b) => (b.shape[2] * b.shape[3] > a.shape[2] * a.shape[3] ? b : a));
  const size: [number, number] = [largest.shape[2], largest.shape[3]];
  let fused: Tensor | null = null;
  for (const s of scaled) {
    const up = s.shape[2] === size[0] && s.shape[3] === size[1] ? e.clone(s) : bilinearResize(e, s, size);
    if (!fused) fused = up;
    else {
      const next = binary(e, 'max', fused, up);
      e.releaseAll(fused, up);
      fused = next;
    }
    e.release(s);
  }
  const up = bilinearResize(e, fused!, inputSize(x));
  const maps = minmaxNormalize(e, up, [1, 2, 3]);
  e.releaseAll(fused!, up);
  return { method: 'layer-cam-fused', kind: 'heatmap', maps, targets, layer: layers.join('+') };
});
