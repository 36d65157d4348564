import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { addInPlace, affine, binary, clamp, unary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { reduce } from '../kernels/reduce.js';
import { logSoftmax, softmax } from '../kernels/softmax.js';
import { assertMeansFitModel, type ClassMeans } from '../e2cm/class-means.js';
import { classConfidences, normalisedDistances, releaseMeans, uploadMeans, type GpuMeans } from '../e2cm/distances.js';
import { exitFeature } from '../e2cm/features.js';
import { argmaxRow, assertImageBatch, targetsFromLogits, type Target } from './common.js';
import { forEachMaskBatch, riseSettings, type RiseOptions } from './rise.js';

/**
 * How a masked image scores at a layer, from the calibrated softmax p there (at the output, the
 * classifier's softmax). `confidence`: p_t, the SPEC's score. `contrastive`: p_t minus the mean of the
 * other classes' p, i.e. (K p_t - 1) / (K - 1), zero at chance. `log-odds`: log p_t - log(1 - p_t).
 * RISE's estimator sums score x mask, so a score's level at chance multiplies the masks' own density
 * pattern, which is the same for every class; `contrastive` has no such level where a layer is unsure.
 */
export type MaskScore = 'confidence' | 'contrastive' | 'log-odds';
export const MASK_SCORES: readonly MaskScore[] = ['confidence', 'contrastive', 'log-odds'];

/** Chosen by measurement on CIFAR ResNet-20 (README, LayerTracer section): class evidence in the maps. */
export const DEFAULT_MASK_SCORE: MaskScore = 'contrastive';

/** The exit threshold used when the class means carry no calibrated thresholds. */
export const FALLBACK_THRESHOLD = 0.9;

/** Models with at most this many classes get a map for every class; larger ones for each image's top few. */
const ALL_CLASS_MAPS_UP_TO = 16;
const TOP_CLASSES_PER_IMAGE = 4;

export interface LayerTracerOptions extends RiseOptions {
  target?: Target;
  score?: MaskScore;
  /** Exit thresholds for the exit marker: one for every exit or one per exit (default: the calibrated ones in the means). */
  thresholds?: number | readonly number[];
  /** Images that share each forward pass (default: as many as leave at least 16 masks per pass). */
  imagesPerPass?: number;
}

export interface LayerTracerResult {
  /** Exit layers, in network order, then `output` (the final classifier). */
  layers: string[];
  /** Per layer: (N, 1, H, W) saliency of each image's target, S_l = 1/(N_masks p) sum_i s_{l,i} M_i. */
  maps: Map<string, Tensor>;
  /** Per layer: (N, Q, H, W), the same for every class in `mapClasses` (same masks, same passes). */
  classMaps: Map<string, Tensor>;
  mapClasses: number[];
  /** (1, 1, H, W): 1/(N_masks p) sum_i M_i, the map a constant score of 1 gives (every class's confidence maps sum to it). */
  density: Tensor;
  targets: number[];
  score: MaskScore;
  /** The per-exit thresholds the exit marker used. */
  thresholds: number[];
  /** Per image: the first exit whose calibrated confidence passes its threshold, or null (final classifier). */
  exitLayer: (string | null)[];
  /** Per image, per exit: calibrated confidence of the clean image (max over classes) and the class it belongs to. */
  confidence: number[][];
  prediction: number[][];
  release(): void;
}

/**
 * LayerTracer: RISE masks, one forward pass per masked image that yields every exit's feature; at each
 * exit the mask's score comes from the calibrated class-mean confidences there; one map per exit from
 * the same masks (plus the classifier output as the last "layer"). Several images share each pass,
 * and every class in `mapClasses` gets its map from the same passes.
 */
export async function layerTracer(model: Model, x: Tensor, means: ClassMeans, opts: LayerTracerOptions = {}): Promise<LayerTracerResult> {
  assertImageBatch(model, x);
  assertMeansFitModel(means, model);
  const e = model.engine;
  const settings = riseSettings(opts);
  const score = opts.score ?? DEFAULT_MASK_SCORE;
  if (!MASK_SCORES.includes(score))
    throw new KernelInputError(`layertracer score must be one of ${MASK_SCORES.join(', ')}, got "${score}"`);
  const exits = means.exits;
  const thresholds = exitThresholds(means, opts.thresholds);
  const K = model.numClasses;
  const [n, c, h, w] = x.shape;
  const plane = h * w;
  const G = opts.imagesPerPass ?? Math.max(1, Math.min(n, Math.floor(settings.batchSize / 16)));
  if (!Number.isInteger(G) || G < 1) throw new KernelInputError(`layertracer imagesPerPass must be a positive integer, got ${G}`);
  const masksPerPass = Math.max(1, Math.floor(settings.batchSize / G));
  const temperatures = exits.map((l) => means.temperatures.get(l)!);
  const gpu: GpuMeans[] = exits.map((l) => uploadMeans(e, means.means.get(l)!, means.scales.get(l)!, K, means.dims.get(l)!, l));
  const layers = [...exits, 'output'];
  const owned: Tensor[] = [];
  try {
    // The clean pass: targets, each exit's calibrated confidence, and where E2CM would exit.
    const clean = model.forward(x, { keep: exits, forBackward: false });
    const logits = await clean.logits.readF32();
    const targets = targetsFromLogits(model, logits, n, opts.target);
    const confidence: number[][] = Array.from({ length: n }, () => []);
    const prediction: number[][] = Array.from({ length: n }, () => []);
    for (const [j, layer] of exits.entries()) {
      const f = exitFeature(e, clean, layer, means.mode);
      const dn = normalisedDistances(e, f, gpu[j]);
      const probs = classConfidences(e, dn, temperatures[j]);
      const p = await probs.readF32();
      e.releaseAll(f, dn, probs);
      for (let i = 0; i < n; i++) {
        const best = argmaxRow(p, i, K);
        prediction[i].push(best);
        confidence[i].push(p[i * K + best]);
      }
    }
    clean.release();
    const exitLayer = confidence.map((cs) => {
      const j = cs.findIndex((v, k) => v > thresholds[k]);
      return j >= 0 ? exits[j] : null;
    });

    const mapClasses = classesToMap(K, targets, logits);
    const Q = mapClasses.length;
    const selector = Q === K ? null : oneHotColumns(e, K, mapClasses);
    if (selector) owned.push(selector);
    const classMaps = new Map(layers.map((l) => [l, e.empty([n, Q, h, w], 'f32', `layertracer.${l}.classes`)] as const));
    owned.push(...classMaps.values());
    const densitySum = e.zeros([1, plane], 'f32', 'layertracer.density');
    owned.push(densitySum);

    for (let first = 0; first < n; first += G) {
      const g = Math.min(G, n - first);
      const images = e.empty([1, g, c, h, w], 'f32', 'layertracer.images');
      e.copy(x, first * c * plane, images, 0, g * c * plane);
      const sums = layers.map(() => e.zeros([g * Q, plane], 'f32', 'layertracer.sum'));
      await forEachMaskBatch(
        model,
        { ...settings, batchSize: masksPerPass },
        [h, w],
        async (masks, count) => {
          if (first === 0) {
            const summed = reduce(e, 'sum', masks.reshape([count, plane]), [0], true); // (1, H*W)
            addInPlace(e, densitySum, summed);
            e.release(summed);
          }
          const masked = binary(e, 'mul', masks.reshape([count, 1, 1, h, w]), images);
          const trace = model.forward(masked.reshape([count * g, c, h, w]), { keep: exits, forBackward: false });
          const flatMasks = masks.reshape([count, plane]);
          for (const [j, layer] of layers.entries()) {
            let z: Tensor;
            if (layer === 'output') z = trace.logits;
            else {
              const f = exitFeature(e, trace, layer, means.mode);
              const dn = normalisedDistances(e, f, gpu[j]);
              z = affine(e, dn, -1 / temperatures[j], 0);
              e.releaseAll(f, dn);
            }
            const all = maskScores(e, z, score); // (count * g, K)
            if (layer !== 'output') e.release(z);
            const picked = selector ? matmul(e, all, selector) : all; // (count * g, Q)
            // Rows are mask-major (mask i, image k): viewed as (count, g * Q), one matmul sums over masks.
            const contribution = matmul(e, picked.reshape([count, g * Q]), flatMasks, { transposeA: true }); // (g * Q, H*W)
            addInPlace(e, sums[j], contribution);
            e.releaseAll(all, selector ? picked : null, contribution);
          }
          trace.release();
          e.release(masked);
        },
        (done) => opts.onProgress?.(first * settings.masks + done * g, n * settings.masks),
      );
      for (const [j, layer] of layers.entries()) {
        const scaled = affine(e, sums[j], 1 / (settings.masks * settings.p), 0);
        e.copy(scaled, 0, classMaps.get(layer)!, first * Q * plane, g * Q * plane);
        e.releaseAll(scaled, sums[j]);
      }
      e.release(images);
    }

    const density = affine(e, densitySum, 1 / (settings.masks * settings.p), 0).reshape([1, 1, h, w]);
    owned.push(density);
    e.release(densitySum);
    const maps = new Map<string, Tensor>();
    for (const layer of layers) {
      const m = e.empty([n, 1, h, w], 'f32', `layertracer.${layer}`);
      owned.push(m);
      for (let i = 0; i < n; i++) e.copy(classMaps.get(layer)!, (i * Q + mapClasses.indexOf(targets[i])) * plane, m, i * plane, plane);
      maps.set(layer, m);
    }
    if (selector) e.release(selector);
    return {
      layers,
      maps,
      classMaps,
      mapClasses,
      density,
      targets,
      score,
      thresholds,
      exitLayer,
      confidence,
      prediction,
      release: () => {
        for (const t of [...maps.values(), ...classMaps.values(), density]) e.release(t);
      },
    };
  } catch (err) {
    for (const t of owned) if (!t.released) e.release(t);
    throw err;
  } finally {
    for (const g of gpu) releaseMeans(e, g);
  }
}

/** The per-exit thresholds: given, else calibrated into the means, else FALLBACK_THRESHOLD everywhere. */
export function exitThresholds(means: ClassMeans, given?: number | readonly number[]): number[] {
  const L = means.exits.length;
  const t =
    given === undefined
      ? means.exits.map((l) => means.calibration?.thresholds.get(l) ?? FALLBACK_THRESHOLD)
      : typeof given === 'number'
        ? means.exits.map(() => given)
        : [...given];
  if (t.length !== L) throw new KernelInputError(`${t.length} exit thresholds given for ${L} exits (${means.exits.join(', ')})`);
  const bad = t.find((v) => !(v >= 0));
  if (bad !== undefined) throw new KernelInputError(`layertracer thresholds must be >= 0 (Infinity: never exits), got ${bad}`);
  return t;
}

/** Scores (B, K) of every class from logits z (B, K) of a softmax. */
function maskScores(e: Engine, z: Tensor, score: MaskScore): Tensor {
  const p = softmax(e, z);
  if (score === 'confidence') return p;
  const K = z.shape[1];
  if (score === 'contrastive') {
    const margin = affine(e, p, K / (K - 1), -1 / (K - 1));
    e.release(p);
    return margin;
  }
  // log p - log(1 - p); 1 - p is floored at 1e-7, about float32's resolution just below 1.
  const logP = logSoftmax(e, z);
  const rest = affine(e, p, -1, 1);
  const floored = clamp(e, rest, 1e-7, 1);
  const logRest = unary(e, 'log', floored);
  const odds = binary(e, 'sub', logP, logRest);
  e.releaseAll(logP, p, rest, floored, logRest);
  return odds;
}

/** Every class for small models; otherwise each image's target and top few clean classes. */
function classesToMap(classes: number, targets: number[], logits: Float32Array): number[] {
  if (classes <= ALL_CLASS_MAPS_UP_TO) return Array.from({ length: classes }, (_, k) => k);
  const picked = new Set(targets);
  for (let i = 0; i < targets.length; i++) {
    const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    row
      .map((v, k) => [v, k] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, TOP_CLASSES_PER_IMAGE)
      .forEach(([, k]) => picked.add(k));
  }
  return [...picked].sort((a, b) => a - b);
}

/** A (K, Q) selector: scores (B, K) @ it = the scores of the chosen classes (B, Q). */
function oneHotColumns(e: Engine, classes: number, chosen: number[]): Tensor {
  const m = new Float32Array(classes * chosen.length);
  chosen.forEach((k, q) => (m[k * chosen.length + q] = 1));
  return e.upload(m, [classes, chosen.length], 'layertracer.selector');
}
