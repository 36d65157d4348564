import { uniformRandom } from '../util/random.js';

/**
 * Temperature scaling (Guo et al. 2017) for E2CM exits, on the host: the confidence of class k is
 * softmax_k(-d~ / T) over an image's normalised distances d~ (one row of K values); T is the value that
 * minimises the mean negative log-likelihood of the true labels on a calibration split. With beta = 1/T
 * the NLL is convex in beta (a log-sum-exp of linear functions plus a linear term), so a golden-section
 * search over log(beta) finds its minimum.
 */

/** T is searched in [1/BETA_MAX, 1/BETA_MIN]: wide enough for any normalised distance scale, finite for separable data. */
const LOG_BETA_MIN = -7;
const LOG_BETA_MAX = 7;
const GOLDEN_STEPS = 80;

/** Row-wise softmax of -d~/T: (N, K) probabilities. */
export function softmaxOfNegative(distances: Float32Array, classes: number, temperature: number): Float32Array {
  const out = new Float32Array(distances.length);
  for (let r = 0; r < distances.length; r += classes) {
    let min = Infinity;
    for (let k = 0; k < classes; k++) min = Math.min(min, distances[r + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += out[r + k] = Math.exp(-(distances[r + k] - min) / temperature);
    for (let k = 0; k < classes; k++) out[r + k] /= sum;
  }
  return out;
}

/** Mean over images of -log softmax_y(-d~ / T), computed stably in float64. */
export function negativeLogLikelihood(distances: Float32Array, labels: ArrayLike<number>, classes: number, temperature: number): number {
  let total = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const r = i * classes;
    let min = Infinity;
    for (let k = 0; k < classes; k++) min = Math.min(min, distances[r + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(-(distances[r + k] - min) / temperature);
    total += (distances[r + labels[i]] - min) / temperature + Math.log(sum);
  }
  return total / n;
}

/** The temperature minimising the NLL on (distances, labels). */
export function fitTemperature(distances: Float32Array, labels: ArrayLike<number>, classes: number): number {
  const nll = (logBeta: number) => negativeLogLikelihood(distances, labels, classes, Math.exp(-logBeta));
  const g = (Math.sqrt(5) - 1) / 2;
  let [a, b] = [LOG_BETA_MIN, LOG_BETA_MAX];
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let [fc, fd] = [nll(c), nll(d)];
  for (let i = 0; i < GOLDEN_STEPS; i++) {
    if (fc < fd) {
      [b, d, fd] = [d, c, fc];
      c = b - g * (b - a);
      fc = nll(c);
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + g * (b - a);
      fd = nll(d);
    }
  }
  return Math.exp(-(a + b) / 2);
}

/**
 * Expected calibration error with equal-width confidence bins (b/B, (b+1)/B]: the share-weighted mean
 * of |accuracy - mean confidence| over the bins (Guo et al. use B = 15).
 */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean>, bins = 15): number {
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const hits = new Float64Array(bins);
  for (let i = 0; i < confidence.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(confidence[i] * bins) - 1));
    count[b]++;
    conf[b] += confidence[i];
    if (correct[i]) hits[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += Math.abs(hits[b] - conf[b]) / confidence.length;
  return ece;
}

/** Per image: the class with the highest confidence (= the nearest normalised class mean) and that confidence. */
export function topConfidence(probs: Float32Array, classes: number): { predicted: number[]; confidence: number[] } {
  const predicted: number[] = [];
  const confidence: number[] = [];
  for (let r = 0; r < probs.length; r += classes) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[r + k] > probs[r + best]) best = k;
    predicted.push(best);
    confidence.push(probs[r + best]);
  }
  return { predicted, confidence };
}

/** Nearest-class-mean accuracy, NLL and ECE (15 bins) of one exit at temperature T. */
export function exitScores(
  distances: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  temperature: number,
): { accuracy: number; nll: number; ece: number } {
  const { predicted, confidence } = topConfidence(softmaxOfNegative(distances, classes, temperature), classes);
  const correct = predicted.map((p, i) => p === labels[i]);
  return {
    accuracy: correct.filter(Boolean).length / labels.length,
    nll: negativeLogLikelihood(distances, labels, classes, temperature),
    ece: expectedCalibrationError(confidence, correct),
  };
}

/**
 * The ECE a perfectly calibrated exit would still show on this many images: each image counted correct
 * with probability equal to its confidence, averaged over `draws` seeded draws. An ECE near this floor
 * is as calibrated as the split can show.
 */
export function eceNoiseFloor(confidence: readonly number[], bins = 15, draws = 200, seed = 1): number {
  const rand = uniformRandom(seed);
  let total = 0;
  for (let d = 0; d < draws; d++)
    total += expectedCalibrationError(
      confidence,
      confidence.map((c) => rand() < c),
      bins,
    );
  return total / draws;
}
