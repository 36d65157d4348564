import { cumulativeFlops } from '../graph/flops.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPassFor } from '../graph/pass-size.js';
import type { LabelledBatches } from '../data/labelled-batches.js';
import { assertMeansFitModel, type ClassMeans } from './class-means.js';
import { softmaxOfNegative, topConfidence } from './calibration.js';
import { normalisedDistances, releaseMeans, uploadMeans } from './distances.js';
import { exitFeature } from './features.js';
import { scoped } from '../gpu/scopes.js';

/** One pass over a labelled set: every exit's normalised distances, the final classifier's answer, and the costs. */
export interface ExitObservations {
  exits: string[];
  classes: number;
  /** Per exit: (N, K) normalised distances d~ = d / s, image-major. */
  distances: Float32Array[];
  labels: number[];
  finalPrediction: number[];
  /** Per exit: the share of the full network's FLOPs spent to reach it. */
  layerCost: number[];
  /**
   * Per exit: the share spent evaluating it (pooling, distances, softmax), paid by every image that
   * reaches it while the exit is active (its threshold can fire).
   */
  exitCost: number[];
}

/** What each exit would answer at given temperatures: [image][exit]. */
export interface ExitPredictions {
  exits: string[];
  nearest: number[][];
  confidence: number[][];
  finalPrediction: number[];
  labels: number[];
  layerCost: number[];
  exitCost: number[];
}

/** Runs the labelled set through the network once, recording what every exit needs. */
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
  const L = means.exits.length;
  const gpu = means.exits.map((l) => uploadMeans(e, means.means.get(l)!, means.scales.get(l)!, K, means.dims.get(l)!, l));
  const obs: ExitObservations = {
    exits: means.exits,
    classes: K,
    distances: means.exits.map(() => new Float32Array(data.count * K)),
    labels: [],
    finalPrediction: [],
    layerCost: [],
    exitCost: [],
  };
  const perPass = imagesPerPassFor(model, data.shape, batchSizeOption('early exits', batchSize, 50));
  try {
    for (let start = 0; start < data.count; start += perPass) {
      const count = Math.min(perPass, data.count - start);
      const { data: host, labels } = data.batch(start, count);
      const x = e.upload(host, [count, ...data.shape], 'early-exit.batch');
      const trace = model.forward(x, { keep: means.exits, forBackward: false });
      if (start === 0) {
        const { upTo, total } = cumulativeFlops(trace, means.exits);
        obs.layerCost = means.exits.map((l) => upTo.get(l)! / total);
        obs.exitCost = means.exits.map((l) => {
          const a = trace.activation(l);
          const pooling = a.size / count;
          const dim = means.dims.get(l)!;
          return (pooling + 3 * K * dim + 6 * K) / total;
        });
      }
      for (let j = 0; j < L; j++) {
        const f = exitFeature(e, trace, means.exits[j], means.mode);
        const d = normalisedDistances(e, f, gpu[j]);
        obs.distances[j].set(await d.readF32(), start * K);
        e.releaseAll(f, d);
      }
      const logits = await trace.logits.readF32();
      trace.release();
      e.release(x);
      for (let n = 0; n < count; n++) {
        obs.finalPrediction.push(argmax(logits.subarray(n * K, (n + 1) * K)));
        obs.labels.push(labels[n]);
      }
      onProgress?.(start + count, data.count);
    }
  } finally {
    for (const g of gpu) releaseMeans(e, g);
  }
  return obs;
});

/** Each exit's answer (the class of highest confidence, i.e. the nearest normalised mean) and its confidence at temperatures T. */
export function predictExits(obs: ExitObservations, temperatures: readonly number[]): ExitPredictions {
  const n = obs.labels.length;
  const nearest: number[][] = Array.from({ length: n }, () => []);
  const confidence: number[][] = Array.from({ length: n }, () => []);
  obs.exits.forEach((_, j) => {
    const top = topConfidence(softmaxOfNegative(obs.distances[j], obs.classes, temperatures[j]), obs.classes);
    for (let i = 0; i < n; i++) {
      nearest[i].push(top.predicted[i]);
      confidence[i].push(top.confidence[i]);
    }
  });
  const { exits, finalPrediction, labels, layerCost, exitCost } = obs;
  return { exits, nearest, confidence, finalPrediction, labels, layerCost, exitCost };
}

/** What an early-exit policy (one threshold, or one per exit) achieves on observed images: accuracy, compute used and where images left. */
export interface EarlyExitResult {
  /** Per exit (NaN where the thresholds differ between exits). */
  threshold: number;
  accuracy: number;
  /** Mean fraction of the full network's compute used, exit evaluations included. */
  computeFraction: number;
  /** Images that left at each exit; the last entry counts those reaching the final classifier. */
  exitCounts: number[];
  /** Each image's prediction under this policy. */
  predictions: number[];
  /** Share of images whose answer differs from the final classifier's (bounds the accuracy lost). */
  changed: number;
  /** The same as the calibrated confidences expect it: the mean over images of 1 - confidence where an exit answers, 0 elsewhere. */
  expectedWrong: number;
}

/**
 * Exit at the first layer whose max confidence exceeds its threshold, predicting that exit's class;
 * images no exit accepts use the final classifier. A threshold of 1 or more never fires, and such an
 * exit is not evaluated at all (it costs nothing).
 */
export function simulateEarlyExit(pred: ExitPredictions, thresholds: number | readonly number[]): EarlyExitResult {
  const L = pred.exits.length;
  const thr = typeof thresholds === 'number' ? pred.exits.map(() => thresholds) : thresholds;
  // Cost of leaving at exit j: the layers up to it plus every active exit evaluated on the way.
  const paid: number[] = [];
  let overhead = 0;
  for (let j = 0; j < L; j++) {
    if (thr[j] < 1) overhead += pred.exitCost[j];
    paid.push(pred.layerCost[j] + overhead);
  }
  const exitCounts = new Array<number>(L + 1).fill(0);
  let correct = 0;
  let cost = 0;
  let changed = 0;
  let expectedWrong = 0;
  const predictions: number[] = [];
  for (let n = 0; n < pred.labels.length; n++) {
    const conf = pred.confidence[n];
    let j = 0;
    while (j < L && !(conf[j] > thr[j])) j++;
    const answer = j < L ? pred.nearest[n][j] : pred.finalPrediction[n];
    predictions.push(answer);
    cost += j < L ? paid[j] : 1 + overhead;
    exitCounts[j]++;
    if (answer === pred.labels[n]) correct++;
    if (answer !== pred.finalPrediction[n]) changed++;
    if (j < L) expectedWrong += 1 - conf[j];
  }
  const count = pred.labels.length;
  return {
    threshold: typeof thresholds === 'number' ? thresholds : thr.every((t) => t === thr[0]) ? thr[0] : NaN,
    accuracy: correct / count,
    computeFraction: cost / count,
    exitCounts,
    predictions,
    changed: changed / count,
    expectedWrong: expectedWrong / count,
  };
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
