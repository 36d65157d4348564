import { eceNoiseFloor, exitScores, softmaxOfNegative, topConfidence } from './calibration.js';
import type { ClassMeans } from './class-means.js';
import { predictExits, simulateEarlyExit, type ExitObservations } from './early-exit.js';
import { NEVER, THRESHOLD_GRID } from './thresholds.js';

/** The numbers `early-exit --json` writes: per exit, the calibrated per-exit policy, the single-threshold sweep, the final classifier. */
export interface EarlyExitReport {
  exits: {
    layer: string;
    /** Compute spent when an image leaves here (layers up to it plus evaluating this exit). */
    computeFraction: number;
    temperature: number;
    ece: number;
    nll: number;
    /** The calibrated threshold; null = this exit never fires. */
    threshold: number | null;
    /** Nearest-class-mean accuracy. */
    accuracy: number;
  }[];
  perExit: { accuracy: number; computeFraction: number; exitCounts: number[] };
  singleThreshold: { threshold: number | null; accuracy: number; computeFraction: number; exitCounts: number[]; chosen: boolean }[];
  finalAccuracy: number;
}

const finite = (t: number) => (Number.isFinite(t) ? t : null);

/**
 * Evaluates class means on observations of a split they were not fitted on: per-exit statistics at the
 * means' temperatures, the per-exit thresholds (calibrated, else `fallback` everywhere), and one
 * threshold for every exit over `sweep` plus the calibrated single threshold.
 */
export function earlyExitReport(
  obs: ExitObservations,
  means: ClassMeans,
  fallback: number,
  sweep: readonly number[] = THRESHOLD_GRID,
): EarlyExitReport {
  const temperatures = means.exits.map((l) => means.temperatures.get(l)!);
  const pred = predictExits(obs, temperatures);
  const thresholds = means.exits.map((l) => means.calibration?.thresholds.get(l) ?? fallback);
  const perExit = simulateEarlyExit(pred, thresholds);
  const chosen = means.calibration?.singleThreshold;
  const singles = [...new Set([...sweep, ...(chosen !== undefined ? [chosen] : []), NEVER])].sort((a, b) => a - b);
  return {
    exits: means.exits.map((layer, j) => {
      const s = exitScores(obs.distances[j], obs.labels, obs.classes, temperatures[j]);
      return {
        layer,
        computeFraction: obs.layerCost[j] + obs.exitCost[j],
        temperature: temperatures[j],
        ece: s.ece,
        nll: s.nll,
        threshold: finite(thresholds[j]),
        accuracy: s.accuracy,
      };
    }),
    perExit: { accuracy: perExit.accuracy, computeFraction: perExit.computeFraction, exitCounts: perExit.exitCounts },
    singleThreshold: singles.map((t) => {
      const r = simulateEarlyExit(pred, t);
      return {
        threshold: finite(t),
        accuracy: r.accuracy,
        computeFraction: r.computeFraction,
        exitCounts: r.exitCounts,
        chosen: t === chosen,
      };
    }),
    finalAccuracy: pred.finalPrediction.filter((p, i) => p === pred.labels[i]).length / pred.labels.length,
  };
}

/** Per exit: the ECE a perfectly calibrated exit would show on these images (sampling noise). */
export function eceFloors(obs: ExitObservations, means: ClassMeans): number[] {
  return means.exits.map((l, j) => {
    const probs = softmaxOfNegative(obs.distances[j], obs.classes, means.temperatures.get(l)!);
    return eceNoiseFloor(topConfidence(probs, obs.classes).confidence);
  });
}
