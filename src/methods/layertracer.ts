import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { imagesPerPass } from '../graph/pass-size.js';
import { addInPlace, affine, binary, clamp, unary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { reduce } from '../kernels/reduce.js';
import { logSoftmax, softmax } from '../kernels/softmax.js';
import { assertMeansFitModel, type ClassMeans } from '../e2cm/class-means.js';
import { normalisedDistances, releaseMeans, uploadMeans, type GpuMeans } from '../e2cm/distances.js';
import { exitFeature } from '../e2cm/features.js';
import { decideExits, exitThresholds } from '../e2cm/exit-decisions.js';
import { assertImageBatch, targetsFromLogits, type Target } from './common.js';
import { generateRiseMasks } from '../kernels/rise-masks.js';
import { forEachMaskBatch, riseSettings, type RiseOptions } from './rise.js';
import { scoped } from '../gpu/scopes.js';

/**
 * How a masked image scores at a layer, from the calibrated softmax p there (at the output, the
 * classifier's softmax). `confidence`: p_t, the score of docs/design.md §2.12. `contrastive`: p_t minus the mean of the
 * other classes' p, i.e. (K p_t - 1) / (K - 1), zero at chance. `log-odds`: log p_t - log(1 - p_t).
 * RISE's estimator sums score x mask, so a score's level at chance multiplies the masks' own density
 * pattern, which is the same for every class; `contrastive` has no such level where a layer is unsure.
 */
export type MaskScore = 'confidence' | 'contrastive' | 'log-odds';
/** Every mask score, for option checks and help. */
export const MASK_SCORES: readonly MaskScore[] = ['confidence', 'contrastive', 'log-odds'];

/**
 * Chosen by measurement on CIFAR ResNet-20 (README, LayerTracer section): `confidence` maps differ
 * between classes well beyond what noise maps with the same scores do, at every layer, by 2-4 times the
 * margin of `log-odds`; `contrastive` maps differ between classes no more than their noise maps.
 * Insertion and deletion AUC of the three are within a few hundredths, none ahead at every layer.
 */
export const DEFAULT_MASK_SCORE: MaskScore = 'confidence';

/** Models with at most this many classes get a map for every class; larger ones for each image's top few. */
const ALL_CLASS_MAPS_UP_TO = 16;
const TOP_CLASSES_PER_IMAGE = 4;

/** Options of {@link layerTracer}: RISE's options plus the target, the mask score, the exit thresholds and batching. */
export interface LayerTracerOptions extends RiseOptions {
  target?: Target;
  score?: MaskScore;
  /** Exit thresholds for the exit marker: one for every exit or one per exit (default: the calibrated ones in the means). */
  thresholds?: number | readonly number[];
  /**
   * Images that share each forward pass (default: as many as leave at least 16 masks per pass); with
   * `batchSize` (RISE's option: masked images per pass), an upper bound, lowered to what fits the
   * adapter's binding limit (graph/pass-size.ts).
   */
  imagesPerPass?: number;
  /** Also build the decoy-mask baseline maps (`result.baseline`), for `layerEvidence`. */
  baseline?: boolean;
}

/** LayerTracer's maps, one per exit and one for the output, with each image's E2CM exit; owned by the caller (`release()`). */
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
  /** With `baseline`: the same scores summed with decoy masks the images never saw (maps with no evidence, the same noise). */
  baseline?: { classMaps: Map<string, Tensor>; density: Tensor };
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
export const layerTracer = scoped(async function layerTracer(
  model: Model,
  x: Tensor,
  means: ClassMeans,
  opts: LayerTracerOptions = {},
): Promise<LayerTracerResult> {
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
  if (opts.imagesPerPass !== undefined && (!Number.isInteger(opts.imagesPerPass) || opts.imagesPerPass < 1))
    throw new KernelInputError(`layertracer imagesPerPass must be a positive integer, got ${opts.imagesPerPass}`);
  const temperatures = exits.map((l) => means.temperatures.get(l)!);
  const gpu: GpuMeans[] = exits.map((l) => uploadMeans(e, means.means.get(l)!, means.scales.get(l)!, K, means.dims.get(l)!, l));
  const layers = [...exits, 'output'];
  const owned: Tensor[] = [];
  try {
    // The clean pass: targets, each exit's calibrated confidence, and where E2CM would exit.
    const clean = model.forward(x, { keep: exits, forBackward: false });
    const logits = await clean.logits.readF32();
    const targets = targetsFromLogits(model, logits, n, opts.target);
    const { confidence, prediction, exitLayer } = await decideExits(model, clean, means, gpu, thresholds);
    // Masked images per pass: mask-major, G images under each of masksPerPass masks.
    const batch = imagesPerPass(e, clean, settings.batchSize);
    clean.release();
    const G = Math.min(opts.imagesPerPass ?? Math.max(1, Math.min(n, Math.floor(batch / 16))), batch);
    const masksPerPass = Math.max(1, Math.floor(batch / G));

    const mapClasses = classesToMap(K, targets, logits);
    const Q = mapClasses.length;
    const selector = Q === K ? null : oneHotColumns(e, K, mapClasses);
    if (selector) owned.push(selector);
    // One family of sums for the real masks and, for the baseline, one for decoy masks: the same
    // scores paired with masks the images never saw, which can carry no evidence.
    const families = opts.baseline ? [settings.seed, decoySeed(settings.seed)] : [settings.seed];
    const sums = families.map(() => layers.map(() => e.empty([n, Q, h, w], 'f32', 'layertracer.classes')));
    const densitySums = families.map(() => e.zeros([1, plane], 'f32', 'layertracer.density'));
    owned.push(...sums.flat(), ...densitySums);

    for (let first = 0; first < n; first += G) {
      const g = Math.min(G, n - first);
      const images = e.empty([g, c, h, w], 'f32', 'layertracer.images');
      e.copy(x, first * c * plane, images, 0, g * c * plane);
      const groupSums = families.map(() => layers.map(() => e.zeros([g * Q, plane], 'f32', 'layertracer.sum')));
      let maskIndex = 0;
      await forEachMaskBatch(
        model,
        { ...settings, batchSize: masksPerPass },
        images,
        async ({ masks, masked }, count) => {
          const masksOf = families.map((seed, f) =>
            f === 0
              ? masks.reshape([count, plane])
              : generateRiseMasks(e, { ...settings, seed }, maskIndex, count, [h, w]).reshape([count, plane]),
          );
          maskIndex += count;
          if (first === 0) {
            masksOf.forEach((m, f) => {
              const summed = reduce(e, 'sum', m, [0], true); // (1, H*W)
              addInPlace(e, densitySums[f], summed);
              e.release(summed);
            });
          }
          const trace = model.forward(masked.reshape([count * g, c, h, w]), { keep: exits, forBackward: false });
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
            masksOf.forEach((m, f) => {
              const contribution = matmul(e, picked.reshape([count, g * Q]), m, { transposeA: true }); // (g * Q, H*W)
              addInPlace(e, groupSums[f][j], contribution);
              e.release(contribution);
            });
            e.releaseAll(all, selector ? picked : null);
          }
          trace.release();
          e.releaseAll(...masksOf.slice(1));
        },
        (done) => opts.onProgress?.(first * settings.masks + done * g, n * settings.masks),
      );
      families.forEach((_, f) =>
        layers.forEach((_, j) => {
          const scaled = affine(e, groupSums[f][j], 1 / (settings.masks * settings.p), 0);
          e.copy(scaled, 0, sums[f][j], first * Q * plane, g * Q * plane);
          e.releaseAll(scaled, groupSums[f][j]);
        }),
      );
      e.release(images);
    }
    const classMapsOf = (f: number) => new Map(layers.map((l, j) => [l, sums[f][j]] as const));
    const densityOf = (f: number) => {
      const d = affine(e, densitySums[f], 1 / (settings.masks * settings.p), 0).reshape([1, 1, h, w]);
      owned.push(d);
      e.release(densitySums[f]);
      return d;
    };
    const classMaps = classMapsOf(0);
    const density = densityOf(0);
    const baseline = opts.baseline ? { classMaps: classMapsOf(1), density: densityOf(1) } : undefined;
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
      baseline,
      targets,
      score,
      thresholds,
      exitLayer,
      confidence,
      prediction,
      release: () => {
        for (const t of owned) if (!t.released) e.release(t);
      },
    };
  } catch (err) {
    for (const t of owned) if (!t.released) e.release(t);
    throw err;
  } finally {
    for (const g of gpu) releaseMeans(e, g);
  }
});

/** The decoy masks' seed: a fixed odd offset from the real one (the two mask sets are independent). */
function decoySeed(seed: number): number {
  return (seed + 0x5bd1e995) >>> 0;
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
