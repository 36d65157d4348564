/**
 * Where E2CM lets each image of a batch leave the network: at every exit the calibrated confidence
 * (softmax of the negative normalised class-mean distances over the exit's temperature), its top class,
 * and the first exit whose top confidence passes that exit's threshold (null: the final classifier
 * answers). One definition for LayerTracer's exit marker and explain's `--means`.
 */
import { KernelInputError } from '../gpu/errors.js';
import { scoped } from '../gpu/scopes.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Trace } from '../graph/executor.js';
import type { Model } from '../graph/model.js';
import { argmaxRow } from '../graph/outputs.js';
import { assertMeansFitModel, type ClassMeans } from './class-means.js';
import { classConfidences, normalisedDistances, releaseMeans, uploadMeans, type GpuMeans } from './distances.js';
import { exitFeature } from './features.js';

/** The exit threshold used when the class means carry no calibrated thresholds. */
export const FALLBACK_THRESHOLD = 0.9;

/** Per image: every exit's calibrated top confidence and its class, and the exit E2CM takes. */
export interface ExitDecisions {
  exits: string[];
  /** The per-exit thresholds used (Infinity: that exit never fires). */
  thresholds: number[];
  /** [image][exit] */
  confidence: number[][];
  prediction: number[][];
  /** Per image: the first exit whose confidence passes its threshold, or null (the final classifier). */
  exitLayer: (string | null)[];
}

/**
 * The thresholds to use: the ones calibrated into the means (0.9 where there are none), or one for
 * every exit, or one per exit.
 */
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
  if (bad !== undefined) throw new KernelInputError(`exit thresholds must be >= 0 (Infinity: never exits), got ${bad}`);
  return t;
}

/** The decisions from a forward trace that kept every exit's activation; `gpu` are the uploaded means, one per exit. */
export const decideExits = scoped(async function decideExits(
  model: Model,
  trace: Trace,
  means: ClassMeans,
  gpu: readonly GpuMeans[],
  thresholds: readonly number[],
): Promise<ExitDecisions> {
  const e = model.engine;
  const K = model.numClasses;
  const n = trace.logits.shape[0];
  const confidence: number[][] = Array.from({ length: n }, () => []);
  const prediction: number[][] = Array.from({ length: n }, () => []);
  for (const [j, layer] of means.exits.entries()) {
    const f = exitFeature(e, trace, layer, means.mode);
    const dn = normalisedDistances(e, f, gpu[j]);
    const probs = classConfidences(e, dn, means.temperatures.get(layer)!);
    const p = await probs.readF32();
    e.releaseAll(f, dn, probs);
    for (let i = 0; i < n; i++) {
      const best = argmaxRow(p, i, K);
      prediction[i].push(best);
      confidence[i].push(p[i * K + best]);
    }
  }
  const exitLayer = confidence.map((cs) => {
    const j = cs.findIndex((v, k) => v > thresholds[k]);
    return j >= 0 ? means.exits[j] : null;
  });
  return { exits: means.exits, thresholds: [...thresholds], confidence, prediction, exitLayer };
});

/** One forward pass of the batch `x` (N, 3, H, W) and the E2CM decisions for it. */
export const e2cmExits = scoped(async function e2cmExits(
  model: Model,
  x: Tensor,
  means: ClassMeans,
  opts: { thresholds?: number | readonly number[] } = {},
): Promise<ExitDecisions> {
  assertMeansFitModel(means, model);
  const thresholds = exitThresholds(means, opts.thresholds);
  const e = model.engine;
  const gpu = means.exits.map((l) => uploadMeans(e, means.means.get(l)!, means.scales.get(l)!, model.numClasses, means.dims.get(l)!, l));
  const trace = model.forward(x, { keep: means.exits, forBackward: false });
  try {
    return await decideExits(model, trace, means, gpu, thresholds);
  } finally {
    trace.release();
    for (const g of gpu) releaseMeans(e, g);
  }
});
