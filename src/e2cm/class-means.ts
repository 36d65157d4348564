import type { LabelledBatches } from '../data/labelled-batches.js';
import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Model } from '../graph/model.js';
import { exitFeature, type FeatureMode } from './features.js';
import { classDistances, uploadMeans, type GpuMeans } from './distances.js';
import { scoped } from '../gpu/scopes.js';

/**
 * E2CM class means (after the stem and after every residual block / stage): the mean feature of each
 * class at each exit, with a per-exit temperature (default: the median distance of the training
 * samples to their own class mean at that exit).
 */
export interface ClassMeans {
  architecture: string;
  exits: string[];
  mode: FeatureMode;
  classes: string[];
  /** Per exit: (K, D) row-major. */
  means: Map<string, Float32Array>;
  dims: Map<string, number>;
  temperatures: Map<string, number>;
  /** Training images per class. */
  counts: number[];
  /** Where the means came from, for reports. */
  source: string;
}

/** Options of {@link computeClassMeans}: which exits, the feature mode, batching and progress. */
export interface ClassMeansOptions {
  exits?: string[];
  mode?: FeatureMode;
  batchSize?: number;
  source?: string;
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
  const batchSize = opts.batchSize ?? 50;
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

  // Pass 2: each sample's distance to its own class mean, for the median temperature.
  const own = new Map<string, number[]>(exits.map((l) => [l, []]));
  const gpu = new Map<string, GpuMeans>(exits.map((l) => [l, uploadMeans(e, means.get(l)!, K, dims.get(l)!, l)]));
  await forEachBatchDistances(
    model,
    data,
    exits,
    mode,
    batchSize,
    gpu,
    (layer, dist, labels) => {
      for (let n = 0; n < labels.length; n++) own.get(layer)!.push(dist[n * K + labels[n]]);
    },
    (done) => opts.onProgress?.(done, data.count, 'temperatures'),
  );
  for (const g of gpu.values()) e.releaseAll(g.means, g.normsSq);
  const temperatures = new Map(exits.map((l) => [l, Math.max(median(own.get(l)!), 1e-6)] as const));
  return {
    architecture: model.info.architecture,
    exits,
    mode,
    classes: model.info.classes,
    means,
    dims,
    temperatures,
    counts,
    source: opts.source ?? '',
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
  for (let start = 0; start < data.count; start += batchSize) {
    const count = Math.min(batchSize, data.count - start);
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
  for (let start = 0; start < data.count; start += batchSize) {
    const count = Math.min(batchSize, data.count - start);
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

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
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
