import { cumulativeFlops } from '../graph/flops.js';
import type { Model } from '../graph/model.js';
import type { LabelledBatches } from '../data/labelled-batches.js';
import { assertMeansFitModel, type ClassMeans } from './class-means.js';
import { classConfidences, classDistances, uploadMeans } from './distances.js';
import { exitFeature } from './features.js';
import { scoped } from '../gpu/scopes.js';

/** Per image, per exit: the nearest class mean and the E2CM confidence; plus the final classifier's answer. */
export interface ExitObservations {
  exits: string[];
  /** [image][exit] */
  nearest: number[][];
  confidence: number[][];
  finalPrediction: number[];
  labels: number[];
  /** Fraction of the full network's FLOPs spent when exiting at each exit (distance computation included). */
  costFraction: number[];
}

/** One pass over a labelled set that records what every exit would predict. */
export const observeExits = scoped(async function observeExits(
  model: Model,
  means: ClassMeans,
  data: LabelledBatches,
  batchSize: number = 50,
  onProgress?: (done: number, total: number) => void,
): Promise<ExitObservations> {
  assertMeansFitModel(means, model);
  const e = model.engine;
  const K = model.numClasses;
  const gpu = means.exits.map((l) => uploadMeans(e, means.means.get(l)!, K, means.dims.get(l)!, l));
  const obs: ExitObservations = { exits: means.exits, nearest: [], confidence: [], finalPrediction: [], labels: [], costFraction: [] };
  try {
    for (let start = 0; start < data.count; start += batchSize) {
      const count = Math.min(batchSize, data.count - start);
      const { data: host, labels } = data.batch(start, count);
      const x = e.upload(host, [count, ...data.shape], 'early-exit.batch');
      const trace = model.forward(x, { keep: means.exits, forBackward: false });
      if (start === 0) {
        const { upTo, total } = cumulativeFlops(trace, means.exits);
        obs.costFraction = means.exits.map((l) => Math.min(1, (upTo.get(l)! + 3 * K * means.dims.get(l)!) / total));
      }
      const perExit: { nearest: number[]; conf: number[] }[] = [];
      for (const [j, layer] of means.exits.entries()) {
        const f = exitFeature(e, trace, layer, means.mode);
        const d = classDistances(e, f, gpu[j]);
        const c = classConfidences(e, d, means.temperatures.get(layer)!);
        const [dist, conf] = [await d.readF32(), await c.readF32()];
        e.releaseAll(f, d, c);
        perExit.push({
          nearest: Array.from({ length: count }, (_, n) => argmin(dist.subarray(n * K, (n + 1) * K))),
          conf: Array.from({ length: count }, (_, n) => Math.max(...conf.subarray(n * K, (n + 1) * K))),
        });
      }
      const logits = await trace.logits.readF32();
      trace.release();
      e.release(x);
      for (let n = 0; n < count; n++) {
        obs.nearest.push(perExit.map((p) => p.nearest[n]));
        obs.confidence.push(perExit.map((p) => p.conf[n]));
        obs.finalPrediction.push(argmax(logits.subarray(n * K, (n + 1) * K)));
        obs.labels.push(labels[n]);
      }
      onProgress?.(start + count, data.count);
    }
  } finally {
    for (const g of gpu) e.releaseAll(g.means, g.normsSq);
  }
  return obs;
});

/** What an early-exit policy with one confidence threshold achieves on observed images: accuracy, compute used and where images left. */
export interface EarlyExitResult {
  threshold: number;
  accuracy: number;
  /** Mean fraction of the full network's compute used. */
  computeUsed: number;
  /** Images that left at each exit; the last entry counts those reaching the final classifier. */
  exitCounts: number[];
  /** Each image's prediction under this policy. */
  predictions: number[];
}

/**
 * Exit at the first layer whose max confidence exceeds its threshold, predicting the nearest class
 * mean; images no exit accepts use the final classifier at full cost. A threshold above 1 never fires.
 */
export function simulateEarlyExit(obs: ExitObservations, thresholds: number | number[]): EarlyExitResult {
  const thr = typeof thresholds === 'number' ? obs.exits.map(() => thresholds) : thresholds;
  const exitCounts = new Array<number>(obs.exits.length + 1).fill(0);
  let correct = 0;
  let cost = 0;
  const predictions: number[] = [];
  for (let n = 0; n < obs.labels.length; n++) {
    const j = obs.confidence[n].findIndex((c, k) => c > thr[k]);
    const pred = j >= 0 ? obs.nearest[n][j] : obs.finalPrediction[n];
    predictions.push(pred);
    cost += j >= 0 ? obs.costFraction[j] : 1;
    exitCounts[j >= 0 ? j : obs.exits.length]++;
    if (pred === obs.labels[n]) correct++;
  }
  return {
    threshold: typeof thresholds === 'number' ? thresholds : NaN,
    accuracy: correct / obs.labels.length,
    computeUsed: cost / obs.labels.length,
    exitCounts,
    predictions,
  };
}

function argmin(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] < a[best]) best = i;
  return best;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
