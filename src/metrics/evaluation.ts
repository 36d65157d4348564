/**
 * Insertion / deletion evaluation for research: every image's AUCs and curves kept, then each method's
 * mean with a 95 % bootstrap interval, and its paired difference to a named baseline method (the mean
 * difference with its interval and a Wilcoxon signed-rank p-value), so "A beats B" comes with the spread
 * that decides whether it does.
 */
import type { LabelledBatches } from '../data/labelled-batches.js';
import type { Model } from '../graph/model.js';
import { toHeatmap } from '../methods/heatmap.js';
import type { MethodEntry, MethodRunOptions } from '../methods/registry.js';
import { causalMetrics, type CausalMetricOptions } from './insertion-deletion.js';
import { bootstrapMean, wilcoxonSignedRank, type Interval, type SignedRankTest } from './statistics.js';

/** One image's insertion and deletion AUCs under one method, with both curves and the time taken. */
export interface ImageScore {
  /** Index of the image within the evaluated data. */
  image: number;
  /** The class scored (the clean image's top-1). */
  target: number;
  insertion: number;
  deletion: number;
  /** Wall time of the method and both curves for this image. */
  seconds: number;
  insertionCurve: number[];
  deletionCurve: number[];
}

/** One method's scores on every evaluated image ({@link evaluateMethods}). */
export interface MethodEvaluation {
  method: string;
  layer?: string;
  perImage: ImageScore[];
}

/** Options of {@link evaluateMethods}: the causal metrics' settings, the methods' options and progress. */
export interface EvaluateOptions extends CausalMetricOptions {
  /** Options for the methods (layer, samples, hybridAlpha, ...). The target is always each image's top-1. */
  runOptions?: Omit<MethodRunOptions, 'target'>;
  /** First index reported for image 0 (the data's offset in its file), default 0. */
  firstImage?: number;
  onImage?: (done: number, results: MethodEvaluation[]) => void;
  onStep?: (done: number, total: number, method: string) => void;
}

/**
 * Runs every method on every image (one at a time) and scores its map by insertion and deletion. The random
 * baseline draws a fresh map per image (seed = the image's index).
 */
export async function evaluateMethods(
  model: Model,
  data: LabelledBatches,
  methods: readonly MethodEntry[],
  opts: EvaluateOptions = {},
): Promise<MethodEvaluation[]> {
  const e = model.engine;
  const results: MethodEvaluation[] = methods.map((m) => ({ method: m.name, perImage: [] }));
  const first = opts.firstImage ?? 0;
  for (let i = 0; i < data.count; i++) {
    const x = e.upload(data.batch(i, 1).data, [1, ...data.shape], 'evaluate.image');
    try {
      for (const [k, method] of methods.entries()) {
        const t0 = performance.now();
        const runOptions = { ...opts.runOptions, seed: method.name === 'random' ? first + i : opts.runOptions?.seed };
        const attribution = await method.run(model, x, runOptions);
        const heat = toHeatmap(e, attribution);
        const saliency = await heat.readF32();
        e.releaseAll(heat, attribution.maps);
        const r = await causalMetrics(model, x, saliency, opts);
        results[k].layer = attribution.layer;
        results[k].perImage.push({
          image: first + i,
          target: r.target,
          insertion: r.insertion.auc,
          deletion: r.deletion.auc,
          seconds: (performance.now() - t0) / 1000,
          insertionCurve: r.insertion.scores,
          deletionCurve: r.deletion.scores,
        });
        opts.onStep?.(i * methods.length + k + 1, data.count * methods.length, method.name);
      }
    } finally {
      e.release(x);
    }
    opts.onImage?.(i + 1, results);
  }
  return results;
}

/** RISE's two causal metrics. */
export type CausalMetric = 'insertion' | 'deletion';

/** A method against a baseline method, image by image: the mean difference and the Wilcoxon signed-rank test. */
export interface PairedComparison {
  baseline: string;
  /** Mean of (method - baseline) per image, with its bootstrap interval. */
  difference: Interval;
  test: SignedRankTest;
}

/** One method's means with 95 % bootstrap intervals, and its paired comparison with the baseline ({@link summarise}). */
export interface MethodSummary {
  method: string;
  layer?: string;
  images: number;
  insertion: Interval;
  deletion: Interval;
  seconds: number;
  /** Absent for the baseline itself or when no baseline was named. */
  versus?: Record<CausalMetric, PairedComparison>;
}

/** Means with 95 % bootstrap intervals, and paired comparisons against `baseline` when it was evaluated. */
export function summarise(
  results: readonly MethodEvaluation[],
  { baseline, resamples = 10000, seed = 0 }: { baseline?: string; resamples?: number; seed?: number } = {},
): MethodSummary[] {
  const base = baseline === undefined ? undefined : results.find((r) => r.method === baseline);
  if (baseline !== undefined && !base)
    throw new RangeError(`baseline method "${baseline}" was not evaluated (evaluated: ${results.map((r) => r.method).join(', ')})`);
  return results.map((r) => {
    const col = (metric: CausalMetric) => r.perImage.map((s) => s[metric]);
    const summary: MethodSummary = {
      method: r.method,
      layer: r.layer,
      images: r.perImage.length,
      insertion: bootstrapMean(col('insertion'), { resamples, seed }),
      deletion: bootstrapMean(col('deletion'), { resamples, seed }),
      seconds: r.perImage.reduce((s, x) => s + x.seconds, 0),
    };
    if (base && base !== r) {
      const paired = (metric: CausalMetric): PairedComparison => {
        const d = r.perImage.map((s, i) => s[metric] - base.perImage[i][metric]);
        return { baseline: base.method, difference: bootstrapMean(d, { resamples, seed }), test: wilcoxonSignedRank(d) };
      };
      summary.versus = { insertion: paired('insertion'), deletion: paired('deletion') };
    }
    return summary;
  });
}

/** Mean curve over images per method, with a pointwise 95 % bootstrap band. */
export function meanCurves(
  results: readonly MethodEvaluation[],
  metric: CausalMetric,
  resamples = 1000,
): { method: string; y: number[]; lo: number[]; hi: number[] }[] {
  return results.map((r) => {
    const curves = r.perImage.map((s) => (metric === 'insertion' ? s.insertionCurve : s.deletionCurve));
    const steps = curves[0]?.length ?? 0;
    const ivs = Array.from({ length: steps }, (_, k) =>
      bootstrapMean(
        curves.map((c) => c[k]),
        { resamples, seed: k },
      ),
    );
    return { method: r.method, y: ivs.map((v) => v.mean), lo: ivs.map((v) => v.lo), hi: ivs.map((v) => v.hi) };
  });
}
