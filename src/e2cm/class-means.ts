import type { LabelledBatches } from '../data/labelled-batches.js';
import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPassFor } from '../graph/pass-size.js';
import { exitFeature, type FeatureMode } from './features.js';
import { classDistances, releaseMeans, uploadMeans, type GpuMeans } from './distances.js';
import { scoped } from '../gpu/scopes.js';

/**
 * E2CM class means (after the stem and after every residual block / stage): the mean feature of each
 * class at each exit, each class's training-distance scale there, and the per-exit temperature.
 * Confidence at an exit: softmax over classes of -(d_k / s_k) / T.
 */
export interface ClassMeans {
  architecture: string;
  exits: string[];
  mode: FeatureMode;
  classes: string[];
  /** Per exit: (K, D) row-major. */
  means: Map<string, Float32Array>;
  dims: Map<string, number>;
  /**
   * Per exit, per class: s_k, the mean distance of class k's training images to their own class mean.
   * Distances are divided by it (E2CM's per-class normalisation). All ones in files made before
   * calibration existed, whose temperatures are then raw distances.
   */
  scales: Map<string, Float32Array>;
  /** Per exit: T. 1 until calibrated; fitted on a held-out calibration split by minimising NLL. */
  temperatures: Map<string, number>;
  /** Training images per class. */
  counts: number[];
  /** Where the means came from, for reports. */
  source: string;
  /** Which images of which data set the means came from, when known (evaluations must use others). */
  split: DataSplit | null;
  /** Temperatures and exit thresholds fitted on a calibration split; null when uncalibrated. */
  calibration: MeansCalibration | null;
  /** A file from before per-class normalisation (raw distances, median-distance temperature). */
  legacy: boolean;
}

/** What `calibrateClassMeans` chose, and what it measured on its calibration split. */
export interface MeansCalibration {
  /** The calibration images, e.g. "test1000.safetensors images 500..749". */
  source: string;
  split: DataSplit | null;
  count: number;
  /** Largest allowed accuracy loss (fraction, 0.01 = one point) for the threshold search. */
  maxAccuracyDrop: number;
  /** Per exit: exit when the max confidence exceeds it; Infinity = this exit never fires. */
  thresholds: Map<string, number>;
  /** The cheapest single threshold (the same at every exit) under the same accuracy budget, for comparison. */
  singleThreshold: number;
  /** On the calibration split: final classifier, per-exit thresholds, single threshold. */
  finalAccuracy: number;
  perExit: { accuracy: number; computeFraction: number };
  single: { accuracy: number; computeFraction: number };
  /** Per exit, on the calibration split: nearest-class-mean accuracy, NLL and ECE before (T = 1) and after. */
  exitStats: ExitCalibrationStats[];
}

/** Images start..start+count-1 of a data set (a resolved path). */
export interface DataSplit {
  data: string;
  start: number;
  count: number;
}

/** Whether two splits share an image. */
export function splitsOverlap(a: DataSplit | null, b: DataSplit | null): boolean {
  return !!a && !!b && a.data === b.data && a.start < b.start + b.count && b.start < a.start + a.count;
}

/** One exit's calibration numbers on the calibration split: accuracy, NLL and ECE (15 bins) before (T = 1) and after fitting T. */
export interface ExitCalibrationStats {
  layer: string;
  accuracy: number;
  nllBefore: number;
  nllAfter: number;
  eceBefore: number;
  eceAfter: number;
}

/** A one-line note for reports when confidences are not calibrated; null when they are. */
export function calibrationNote(means: ClassMeans): string | null {
  if (means.legacy)
    return 'these class means predate calibration (raw distances, median-distance temperature, no exit thresholds); recompute them with `layertracer class-means --calibrate-range A:B`';
  if (!means.calibration)
    return 'these class means are uncalibrated (temperature 1, no exit thresholds); recompute them with `layertracer class-means --calibrate-range A:B`';
  return null;
}

/** Options of {@link computeClassMeans}: which exits, the feature mode, batching and progress. */
export interface ClassMeansOptions {
  exits?: string[];
  mode?: FeatureMode;
  batchSize?: number;
  source?: string;
  split?: DataSplit;
  onProgress?: (done: number, total: number, pass: string) => void;
}

/**
 * E2CM class means of a labelled set at every exit of the model (default `model.exitLayers`), with per-exit temperatures; two passes
 * over the data (means, then distances).
 */
export const computeClassMeans = scoped(async function computeClassMeans(
  model: Model,
  data: LabelledBatches,
  opts: ClassMeansOptions = {},
): Promise<ClassMeans> {
  const e = model.engine;
  const exits = opts.exits ?? model.exitLayers;
  for (const l of exits) model.assertLayer(l);
  const mode = opts.mode ?? 'gap';
  const batchSize = batchSizeOption('class means', opts.batchSize, 50);
  const K = model.numClasses;
  const sums = new Map<string, Float64Array>();
  const dims = new Map<string, number>();
  const counts = new Array<number>(K).fill(0);

  // Pass 1: per-class sums of every exit's features.
  await forEachBatch(
    model,
    data,
    exits,
    mode,
    batchSize,
    (layer, feats, labels, dim) => {
      if (!sums.has(layer)) {
        sums.set(layer, new Float64Array(K * dim));
        dims.set(layer, dim);
      }
      const acc = sums.get(layer)!;
      for (let n = 0; n < labels.length; n++) {
        const k = labels[n];
        for (let d = 0; d < dim; d++) acc[k * dim + d] += feats[n * dim + d];
      }
    },
    (labels) => {
      for (let n = 0; n < labels.length; n++) {
        if (!(labels[n] >= 0 && labels[n] < K))
          throw new KernelInputError(`${opts.source ?? 'dataset'}: label ${labels[n]} is outside the model's ${K} classes`);
        counts[labels[n]]++;
      }
    },
    (done) => opts.onProgress?.(done, data.count, 'means'),
  );
  const missing = counts.map((c, k) => (c === 0 ? model.info.classes[k] : null)).filter((x) => x !== null);
  if (missing.length) throw new KernelInputError(`no training images for class(es) ${missing.join(', ')}; every class needs at least one`);
  const means = new Map<string, Float32Array>();
  for (const [layer, acc] of sums) {
    const dim = dims.get(layer)!;
    means.set(
      layer,
      Float32Array.from(acc, (v, i) => v / counts[Math.floor(i / dim)]),
    );
  }

  // Pass 2: each sample's distance to its own class mean, summed per class for the scales s_k.
  const own = new Map<string, Float64Array>(exits.map((l) => [l, new Float64Array(K)]));
  const ones = new Float32Array(K).fill(1);
  const gpu = new Map<string, GpuMeans>(exits.map((l) => [l, uploadMeans(e, means.get(l)!, ones, K, dims.get(l)!, l)]));
  await forEachBatchDistances(
    model,
    data,
    exits,
    mode,
    batchSize,
    gpu,
    (layer, dist, labels) => {
      const sums = own.get(layer)!;
      for (let n = 0; n < labels.length; n++) sums[labels[n]] += dist[n * K + labels[n]];
    },
    (done) => opts.onProgress?.(done, data.count, 'scales'),
  );
  for (const g of gpu.values()) releaseMeans(e, g);
  // A class whose images all sit on its mean (distance 0) keeps scale 1 rather than dividing by zero.
  const scales = new Map(exits.map((l) => [l, Float32Array.from(own.get(l)!, (s, k) => (s > 0 ? s / counts[k] : 1))] as const));
  return {
    architecture: model.info.architecture,
    exits,
    mode,
    classes: model.info.classes,
    means,
    dims,
    scales,
    temperatures: new Map(exits.map((l) => [l, 1] as const)),
    counts,
    source: opts.source ?? '',
    split: opts.split ?? null,
    calibration: null,
    legacy: false,
  };
});

async function forEachBatch(
  model: Model,
  data: LabelledBatches,
  exits: string[],
  mode: FeatureMode,
  batchSize: number,
  onFeature: (layer: string, feats: Float32Array, labels: ArrayLike<number>, dim: number) => void,
  onLabels: (labels: ArrayLike<number>) => void,
  onProgress: (done: number) => void,
): Promise<void> {
  const e = model.engine;
  const perPass = imagesPerPassFor(model, data.shape, batchSize);
  for (let start = 0; start < data.count; start += perPass) {
    const count = Math.min(perPass, data.count - start);
    const { data: host, labels } = data.batch(start, count);
    onLabels(labels);
    const x = e.upload(host, [count, ...data.shape], 'class-means.batch');
    const trace = model.forward(x, { keep: exits, forBackward: false });
    for (const layer of exits) {
      const f = exitFeature(e, trace, layer, mode);
      onFeature(layer, await f.readF32(), labels, f.shape[1]);
      e.release(f);
    }
    trace.release();
    e.release(x);
    onProgress(start + count);
  }
}

async function forEachBatchDistances(
  model: Model,
  data: LabelledBatches,
  exits: string[],
  mode: FeatureMode,
  batchSize: number,
  gpu: Map<string, GpuMeans>,
  onDistances: (layer: string, dist: Float32Array, labels: ArrayLike<number>) => void,
  onProgress: (done: number) => void,
): Promise<void> {
  const e = model.engine;
  const perPass = imagesPerPassFor(model, data.shape, batchSize);
  for (let start = 0; start < data.count; start += perPass) {
    const count = Math.min(perPass, data.count - start);
    const { data: host, labels } = data.batch(start, count);
    const x = e.upload(host, [count, ...data.shape], 'class-means.batch');
    const trace = model.forward(x, { keep: exits, forBackward: false });
    for (const layer of exits) {
      const f = exitFeature(e, trace, layer, mode);
      const d = classDistances(e, f, gpu.get(layer)!);
      onDistances(layer, await d.readF32(), labels);
      e.releaseAll(f, d);
    }
    trace.release();
    e.release(x);
    onProgress(start + count);
  }
}

export function assertMeansFitModel(means: ClassMeans, model: Model): void {
  if (means.classes.length !== model.numClasses) {
    throw new KernelInputError(
      `class means have ${means.classes.length} classes but the model has ${model.numClasses}; recompute them for this model`,
    );
  }
  const named = model.info.classes.length === means.classes.length;
  const renamed = named ? means.classes.findIndex((c, k) => c !== model.info.classes[k]) : -1;
  if (renamed >= 0) {
    throw new KernelInputError(
      `class means name class ${renamed} "${means.classes[renamed]}" but the model calls it "${model.info.classes[renamed]}"; they belong to another model: recompute them for this one`,
    );
  }
  for (const l of means.exits) {
    if (!model.hasLayer(l))
      throw new KernelInputError(
        `class means were computed at layer "${l}", which this model does not have; recompute them for this model`,
      );
  }
}

export type { Engine };
