import { KernelInputError } from '../gpu/errors.js';
import { simulateEarlyExit, type EarlyExitResult, type ExitPredictions } from './early-exit.js';

/**
 * Candidate thresholds on the calibrated confidence. A fixed grid rather than the split's own
 * confidence quantiles: on a few hundred calibration images, finer candidates fit the split's noise
 * (measured on ResNet-20/56; see the README's early-exit section).
 */
export const THRESHOLD_GRID: readonly number[] = [
  0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999,
];

/** A threshold that never fires (confidences are at most 1 and an exit fires only above its threshold). */
export const NEVER = Infinity;

/** Options of the exit-threshold searches: the accuracy budget and the candidate thresholds. */
export interface ThresholdSearchOptions {
  /** Largest accuracy loss allowed, as a fraction (default 0.01, one point). */
  maxAccuracyDrop?: number;
  candidates?: readonly number[];
}

/** One point of the accuracy / compute front the threshold search walks. */
export interface FrontPoint {
  thresholds: number[];
  accuracy: number;
  computeFraction: number;
  changed: number;
}

/** The thresholds a search chose, and the accuracy and compute they give on the calibration split. */
export interface ThresholdChoice {
  thresholds: number[];
  result: EarlyExitResult;
  /** The greedy path from "no exit fires" to the choice: compute falls, accuracy moves little. */
  front: FrontPoint[];
}

/** The risk the search bounds, in images: the larger of the answers changed and the answers expected wrong. */
function riskOf(r: EarlyExitResult, n: number): number {
  return Math.max(Math.round(r.changed * n), r.expectedWrong * n);
}

function budgetOf(opts: ThresholdSearchOptions): number {
  const drop = opts.maxAccuracyDrop ?? 0.01;
  if (!(drop >= 0 && drop <= 1)) throw new KernelInputError(`max accuracy drop must be a fraction in [0, 1], got ${drop}`);
  return drop;
}

/**
 * Per-exit thresholds that save the most compute within the budget: a greedy descent (E2CM searches its
 * thresholds greedily too). From "no exit fires", each step lowers one exit's threshold to a lower
 * candidate, taking the move that saves the most compute per unit of risk added (moves that add none
 * first, then the largest saving), until no move saves compute within the budget.
 * The risk of a policy is the larger of two counts on the split: the answers it changes from the final
 * classifier's (an exit can only lose accuracy where it disagrees), and the answers its calibrated
 * confidences expect to be wrong (the sum of 1 - confidence over the images that exit). The first keeps
 * the guarantee: on the split the thresholds were chosen on, accuracy is never below the final
 * classifier's minus the budget. The second stops the search from trusting a handful of images that
 * happened to agree: on the CIFAR ResNets with 300 calibration images, thresholds chosen on the first
 * alone lost 2.1 points of ResNet-56's accuracy on unseen images, against 0.5 with both (README, E2CM
 * section; ResNet-20 lost 1.2 either way).
 */
export function searchExitThresholds(pred: ExitPredictions, opts: ThresholdSearchOptions = {}): ThresholdChoice {
  const budget = budgetOf(opts);
  const candidates = [...(opts.candidates ?? THRESHOLD_GRID)].sort((a, b) => b - a);
  const L = pred.exits.length;
  const n = pred.labels.length;
  // Compare counts, not fractions, so the budget test is exact.
  const allowed = Math.floor(budget * n + 1e-9);
  let thresholds = pred.exits.map(() => NEVER);
  let current = simulateEarlyExit(pred, thresholds);
  const point = (t: number[], r: EarlyExitResult): FrontPoint => ({
    thresholds: [...t],
    accuracy: r.accuracy,
    computeFraction: r.computeFraction,
    changed: r.changed,
  });
  const front = [point(thresholds, current)];
  for (;;) {
    let best: { t: number[]; r: EarlyExitResult; free: boolean; gain: number } | null = null;
    for (let j = 0; j < L; j++) {
      for (const c of candidates) {
        if (c >= thresholds[j]) continue;
        const t = thresholds.map((v, k) => (k === j ? c : v));
        const r = simulateEarlyExit(pred, t);
        const saved = current.computeFraction - r.computeFraction;
        const risk = riskOf(r, n);
        if (!(saved > 1e-12) || risk > allowed + 1e-9) continue;
        const extra = risk - riskOf(current, n);
        const free = extra <= 1e-9;
        const gain = free ? saved : saved / extra;
        if (!best || (free && !best.free) || (free === best.free && gain > best.gain)) best = { t, r, free, gain };
      }
    }
    if (!best) break;
    thresholds = best.t;
    current = best.r;
    front.push(point(thresholds, current));
  }
  return { thresholds, result: current, front };
}

/** The cheapest single threshold (the same at every exit) from the candidates under the same budget. */
export function searchSingleThreshold(
  pred: ExitPredictions,
  opts: ThresholdSearchOptions = {},
): { threshold: number; result: EarlyExitResult } {
  const budget = budgetOf(opts);
  const n = pred.labels.length;
  const allowed = Math.floor(budget * n + 1e-9);
  let best = { threshold: NEVER, result: simulateEarlyExit(pred, NEVER) };
  for (const c of opts.candidates ?? THRESHOLD_GRID) {
    const r = simulateEarlyExit(pred, c);
    if (riskOf(r, n) <= allowed + 1e-9 && r.computeFraction < best.result.computeFraction) best = { threshold: c, result: r };
  }
  return best;
}
