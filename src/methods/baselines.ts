import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { bitsToUnit, counterBits, streamKey } from '../util/random.js';
import { assertImageBatch, resolveTargets, type Attribution, type MethodOptions } from './common.js';
import { valueBounds } from '../util/stretch.js';

/**
 * Maps that ignore the model, as baselines for the metrics and the sanity checks: any method worth its
 * cost should beat `random` and `centre-gaussian` on insertion / deletion, and a method that survives model
 * randomisation no better than `edge` explains the image, not the model (Adebayo et al. 2018).
 * Each is (N, 1, H, W) in [0, 1]; the targets are still resolved, so a baseline sits in any table.
 */
export interface BaselineOptions extends MethodOptions {
  /** `random`: image i of the batch draws stream i under this seed (default 0). */
  seed?: number;
  /** `centre-gaussian`: standard deviation as a fraction of the shorter image side (default 0.25). */
  sigma?: number;
}

/** Uniform noise, one independent stream per image. */
export function randomMap(model: Model, x: Tensor, opts: BaselineOptions = {}): Promise<Attribution> {
  const seed = opts.seed ?? 0;
  return hostMap(model, x, opts, 'random', (i, h, w) => {
    const key = streamKey(seed, i);
    return Float32Array.from({ length: h * w }, (_, p) => bitsToUnit(counterBits(key, p)));
  });
}

/** exp(-d^2 / (2 sigma^2)) around the image centre: the centre bias of photographs. */
export function centreGaussianMap(model: Model, x: Tensor, opts: BaselineOptions = {}): Promise<Attribution> {
  const frac = opts.sigma ?? 0.25;
  if (!(frac > 0)) throw new KernelInputError(`centre-gaussian sigma must be > 0, got ${frac}`);
  return hostMap(model, x, opts, 'centre-gaussian', (_i, h, w) => {
    const s = frac * Math.min(h, w);
    const map = new Float32Array(h * w);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) map[y * w + xx] = Math.exp(-((y - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (2 * s * s));
    return minmax(map);
  });
}

/**
 * Sobel edge magnitude of the channel-mean input, min-max: an "explanation" that never looks at the model
 * (pytorch-grad-cam's sobel_cam is the same idea). Borders replicate the edge pixel.
 */
export async function edgeMap(model: Model, x: Tensor, opts: MethodOptions = {}): Promise<Attribution> {
  const host = await x.readF32();
  return hostMap(model, x, opts, 'edge', (i, h, w) => {
    const c = x.shape[1];
    const gray = new Float32Array(h * w);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) gray[p] += host[(i * c + ch) * h * w + p] / c;
    const at = (y: number, xx: number) => gray[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, xx))];
    const map = new Float32Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const gx = at(y - 1, xx + 1) + 2 * at(y, xx + 1) + at(y + 1, xx + 1) - at(y - 1, xx - 1) - 2 * at(y, xx - 1) - at(y + 1, xx - 1);
        const gy = at(y + 1, xx - 1) + 2 * at(y + 1, xx) + at(y + 1, xx + 1) - at(y - 1, xx - 1) - 2 * at(y - 1, xx) - at(y - 1, xx + 1);
        map[y * w + xx] = Math.hypot(gx, gy);
      }
    }
    return minmax(map);
  });
}

async function hostMap(
  model: Model,
  x: Tensor,
  opts: MethodOptions,
  method: string,
  make: (image: number, h: number, w: number) => Float32Array,
): Promise<Attribution> {
  assertImageBatch(model, x);
  const [n, , h, w] = x.shape;
  const trace = model.forward(x, { forBackward: false });
  let targets: number[];
  try {
    targets = await resolveTargets(model, trace, opts.target);
  } finally {
    trace.release();
  }
  const data = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) data.set(make(i, h, w), i * h * w);
  return { method, kind: 'heatmap', maps: model.engine.upload(data, [n, 1, h, w], `${method}.maps`), targets };
}

/** The engine's minmax on the host: (M - min) / (max - min + 1e-7). */
function minmax(map: Float32Array): Float32Array {
  const [lo, hi] = valueBounds(map);
  return hi > lo ? map.map((v) => (v - lo) / (hi - lo + 1e-7)) : map.fill(0);
}
