import type { Model } from '../graph/model.js';
import { exitScores, fitTemperature } from './calibration.js';
import type { LabelledBatches } from '../data/labelled-batches.js';
import type { ClassMeans, DataSplit, ExitCalibrationStats } from './class-means.js';
import { observeExits, predictExits } from './early-exit.js';
import { searchExitThresholds, searchSingleThreshold } from './thresholds.js';

/** Options of {@link calibrateClassMeans}: the accuracy budget, the split's description, batching and progress. */
export interface CalibrateOptions {
  /** Largest accuracy loss allowed by the threshold search, as a fraction (default 0.01). */
  maxAccuracyDrop?: number;
  /** Describes the calibration images, for reports. */
  source?: string;
  split?: DataSplit;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Calibrates class means on a held-out split (never the images the means came from): one temperature
 * per exit by NLL, then per-exit thresholds and a single threshold for comparison, both under the
 * accuracy budget. Returns new class means; the input is not changed.
 */
export async function calibrateClassMeans(
  model: Model,
  means: ClassMeans,
  data: LabelledBatches,
  opts: CalibrateOptions = {},
): Promise<ClassMeans> {
  const uncalibrated: ClassMeans = { ...means, temperatures: new Map(means.exits.map((l) => [l, 1] as const)), calibration: null };
  const obs = await observeExits(model, uncalibrated, data, opts.batchSize, opts.onProgress);
  const temperatures = means.exits.map((_, j) => fitTemperature(obs.distances[j], obs.labels, obs.classes));
  const exitStats: ExitCalibrationStats[] = means.exits.map((layer, j) => {
    const before = exitScores(obs.distances[j], obs.labels, obs.classes, 1);
    const after = exitScores(obs.distances[j], obs.labels, obs.classes, temperatures[j]);
    return { layer, accuracy: after.accuracy, nllBefore: before.nll, nllAfter: after.nll, eceBefore: before.ece, eceAfter: after.ece };
  });
  const pred = predictExits(obs, temperatures);
  const search = { maxAccuracyDrop: opts.maxAccuracyDrop ?? 0.01 };
  const perExit = searchExitThresholds(pred, search);
  const single = searchSingleThreshold(pred, search);
  const finalAccuracy = obs.finalPrediction.filter((p, i) => p === obs.labels[i]).length / obs.labels.length;
  return {
    ...means,
    temperatures: new Map(means.exits.map((l, j) => [l, temperatures[j]] as const)),
    calibration: {
      source: opts.source ?? '',
      split: opts.split ?? null,
      count: data.count,
      maxAccuracyDrop: search.maxAccuracyDrop,
      thresholds: new Map(means.exits.map((l, j) => [l, perExit.thresholds[j]] as const)),
      singleThreshold: single.threshold,
      finalAccuracy,
      perExit: { accuracy: perExit.result.accuracy, computeFraction: perExit.result.computeFraction },
      single: { accuracy: single.result.accuracy, computeFraction: single.result.computeFraction },
      exitStats,
    },
  };
}
