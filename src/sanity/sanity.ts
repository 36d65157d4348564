/**
 * The model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"): an
 * explanation that depends on what the model learned must change when the learned parameters are
 * replaced by random ones. Layers are randomised from the output back (cascading: each step adds one
 * more layer; independent: one layer at a time, the rest as trained), the maps are recomputed for the
 * same images and the same classes, and each is compared with the trained model's map.
 */
import type { LabelledBatches } from '../data/labelled-batches.js';
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPassFor } from '../graph/pass-size.js';
import { bootstrapMean, type Interval } from '../metrics/statistics.js';
import type { Attribution } from '../methods/common.js';
import { argmaxRow } from '../graph/outputs.js';
import { toHeatmap } from '../methods/heatmap.js';
import type { MethodEntry, MethodRunOptions } from '../methods/registry.js';
import { ModelRandomiser, randomisableLayers, type Granularity } from './randomise.js';
import { hogSimilarity, spearman, ssim } from './similarity.js';
import { valueBounds } from '../util/stretch.js';

/** The sanity check's similarity measures: Spearman of |map| and of the signed map, SSIM, HOG. */
export const SIMILARITY_MEASURES = ['spearmanAbs', 'spearmanSigned', 'ssim', 'hog'] as const;
/** One of the sanity check's similarity measures between a trained and a randomised model's maps. */
export type SimilarityMeasure = (typeof SIMILARITY_MEASURES)[number];
export const MEASURE_TITLES: Record<SimilarityMeasure, string> = {
  spearmanAbs: 'Spearman rank correlation (absolute)',
  spearmanSigned: 'Spearman rank correlation (signed)',
  ssim: 'SSIM',
  hog: 'HOG similarity',
};

/** One image's score under every similarity measure. */
export type SimilarityScores = Record<SimilarityMeasure, number>;

/** Options of {@link modelRandomisationTest}. */
export interface SanityOptions {
  /** 'cascading' (default): step k randomises the top k+1 layers; 'independent': only layer k. */
  mode?: 'cascading' | 'independent';
  granularity?: Granularity;
  /** Seed of the random parameters (default 0). */
  seed?: number;
  /** The class every map explains, the same at every step: the image's label (default) or the trained model's top-1. */
  target?: 'label' | 'top1';
  /** Images per batch (default 16). */
  batchSize?: number;
  /** Options for the methods (layer, samples, ...); `target` is set by the test. */
  runOptions?: Omit<MethodRunOptions, 'target'>;
  /** Bootstrap resamples for the intervals (default 2000). */
  resamples?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** One randomisation step: which layers were randomised and how similar each method's maps stayed. */
export interface SanityStep {
  /** The layer randomised at this step (cascading: the deepest one so far). */
  layer: string;
  /** Every layer randomised at this step. */
  randomised: string[];
  /** method -> one score set per image. */
  perImage: Record<string, SimilarityScores[]>;
  /** method -> measure -> mean with a 95 % bootstrap interval over images. */
  summary: Record<string, Record<SimilarityMeasure, Interval>>;
}

/** The model-parameter randomisation test's result: every step of one mode. */
export interface SanityResult {
  mode: 'cascading' | 'independent';
  granularity: Granularity;
  seed: number;
  target: 'label' | 'top1';
  images: number;
  methods: string[];
  /** Randomisation order: output first. */
  layers: string[];
  steps: SanityStep[];
}

/**
 * Runs the test for `methods` over the images of `data`. The model is never modified: every step runs on a
 * copy whose randomised layers hold new tensors (sanity/randomise.ts), all released before this returns.
 */
export async function modelRandomisationTest(
  model: Model,
  data: LabelledBatches,
  methods: readonly MethodEntry[],
  opts: SanityOptions = {},
): Promise<SanityResult> {
  const mode = opts.mode ?? 'cascading';
  const granularity = opts.granularity ?? 'block';
  const seed = opts.seed ?? 0;
  const target = opts.target ?? 'label';
  const batchSize = imagesPerPassFor(model, data.shape, batchSizeOption('sanity', opts.batchSize, 16));
  const layers = randomisableLayers(model, granularity);
  const e = model.engine;
  const steps: SanityStep[] = layers.map((l, k) => ({
    layer: l.name,
    randomised: mode === 'cascading' ? layers.slice(0, k + 1).map((x) => x.name) : [l.name],
    perImage: Object.fromEntries(methods.map((m) => [m.name, []])),
    summary: {},
  }));
  const randomiser = new ModelRandomiser(model, seed);
  const total = data.count * methods.length * (layers.length + 1);
  let done = 0;
  try {
    for (let first = 0; first < data.count; first += batchSize) {
      const count = Math.min(batchSize, data.count - first);
      const batch = data.batch(first, count);
      const x = e.upload(batch.data, [count, ...data.shape], 'sanity.images');
      try {
        const targets = target === 'label' ? Array.from(batch.labels, Number) : topOne(await model.logits(x), count, model.numClasses);
        const run = (m: Model, method: MethodEntry) => method.run(m, x, { ...opts.runOptions, target: targets });
        const originals = new Map<string, HostMaps>();
        for (const method of methods) {
          originals.set(method.name, await hostMaps(model, await run(model, method)));
          opts.onProgress?.(++done, total, `${method.name} (trained)`);
        }
        for (const [k, step] of steps.entries()) {
          const nodes = mode === 'cascading' ? layers.slice(0, k + 1).flatMap((l) => l.nodes) : layers[k].nodes;
          const copy = await randomiser.copyWith(nodes);
          for (const method of methods) {
            const randomised = await hostMaps(copy, await run(copy, method));
            step.perImage[method.name].push(...compareMaps(originals.get(method.name)!, randomised, count));
            opts.onProgress?.(++done, total, `${method.name}, ${step.layer} randomised`);
          }
        }
      } finally {
        e.release(x);
      }
    }
  } finally {
    randomiser.release();
  }
  for (const step of steps) {
    for (const method of methods) {
      const rows = step.perImage[method.name];
      step.summary[method.name] = Object.fromEntries(
        SIMILARITY_MEASURES.map((measure) => [
          measure,
          bootstrapMean(
            rows.map((r) => r[measure]),
            { resamples: opts.resamples ?? 2000, seed },
          ),
        ]),
      ) as Record<SimilarityMeasure, Interval>;
    }
  }
  return {
    mode,
    granularity,
    seed,
    target,
    images: data.count,
    methods: methods.map((m) => m.name),
    layers: layers.map((l) => l.name),
    steps,
  };
}

function topOne(logits: Float32Array, n: number, classes: number): number[] {
  return Array.from({ length: n }, (_, i) => argmaxRow(logits, i, classes));
}

/** A method's maps on the host: the raw maps and their one-channel heatmap form, per image. */
interface HostMaps {
  kind: Attribution['kind'];
  raw: Float32Array;
  heat: Float32Array;
  channels: number;
  height: number;
  width: number;
}

async function hostMaps(model: Model, a: Attribution): Promise<HostMaps> {
  const e = model.engine;
  const heatT = toHeatmap(e, a);
  try {
    const [, channels, height, width] = a.maps.shape;
    return { kind: a.kind, raw: await a.maps.readF32(), heat: await heatT.readF32(), channels, height, width };
  } finally {
    e.releaseAll(heatT, a.maps);
  }
}

/**
 * Per image: Spearman of the heatmaps (|.|, max over channels: "absolute") and of the raw signed values over
 * every channel ("signed"; the same as absolute for heatmap methods); SSIM and HOG similarity of the
 * heatmaps, each first min-maxed to [0, 1] so SSIM's data range is 1 whatever the method's scale.
 */
function compareMaps(a: HostMaps, b: HostMaps, count: number): SimilarityScores[] {
  const { height: h, width: w, channels: c } = a;
  const plane = h * w;
  return Array.from({ length: count }, (_, i) => {
    const ha = unitRange(a.heat.subarray(i * plane, (i + 1) * plane));
    const hb = unitRange(b.heat.subarray(i * plane, (i + 1) * plane));
    const spearmanAbs = spearman(ha, hb);
    const spearmanSigned =
      a.kind === 'signed'
        ? spearman(a.raw.subarray(i * c * plane, (i + 1) * c * plane), b.raw.subarray(i * c * plane, (i + 1) * c * plane))
        : spearmanAbs;
    return { spearmanAbs, spearmanSigned, ssim: ssim(ha, hb, h, w, 1), hog: hogSimilarity(ha, hb, h, w) };
  });
}

function unitRange(map: Float32Array): Float32Array {
  const [lo, hi] = valueBounds(map);
  return hi > lo ? map.map((v) => (v - lo) / (hi - lo)) : new Float32Array(map.length);
}

/** Markdown: one table per method, a row per randomisation step, mean [95 % interval] per measure. */
export function sanityTables(r: SanityResult, note: string): string {
  const out: string[] = [`Model-parameter randomisation, ${r.mode} (${note}; ${r.images} images, seed ${r.seed})`, ''];
  const cell = (iv: Interval) => `${iv.mean.toFixed(3)} [${iv.lo.toFixed(3)}, ${iv.hi.toFixed(3)}]`;
  for (const method of r.methods) {
    out.push(`${method}:`, '');
    out.push(`| randomised | ${SIMILARITY_MEASURES.map((m) => MEASURE_TITLES[m]).join(' | ')} |`);
    out.push(`|---|${SIMILARITY_MEASURES.map(() => '---').join('|')}|`);
    for (const step of r.steps) {
      const label = r.mode === 'cascading' ? `${step.layer} and above` : step.layer;
      out.push(`| ${label} | ${SIMILARITY_MEASURES.map((m) => cell(step.summary[method][m])).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
