import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { causalMetrics, type CausalMetricOptions } from '../metrics/insertion-deletion.js';
import { pearson } from '../metrics/statistics.js';
import { uniformRandom } from '../util/random.js';
import type { LayerTracerResult } from './layertracer.js';

/**
 * The numbers printed under each LayerTracer map: does the layer's map carry class evidence, and does
 * it point at what the network uses?
 * - classSensitivity: 1 - the mean Pearson correlation between the target's map and every other
 *   mapped class's map (0: the same picture whatever the class; NaN when no other class was mapped).
 * - contrast: std / mean of the target's confidence map (how far it departs from a flat level), the
 *   same number whichever score drew the map: a contrastive map is turned back into the confidence
 *   map it is a linear function of (with the mask density); a log-odds map, which is not, reports
 *   std / |mean| of itself.
 * - insertion / deletion AUC of the map (RISE's causal metrics, scored by the final classifier).
 * Baselines: with LayerTracer's `baseline` maps (the same scores with decoy masks), `baseline` gives
 * class sensitivity and contrast of maps that carry no evidence but the same noise: maps of unrelated
 * noise also differ between classes, so only the excess over it is evidence. Per image, `random`
 * gives insertion / deletion for a seeded uniform random map.
 */
export interface LayerEvidence {
  layer: string;
  classSensitivity: number;
  contrast: number;
  insertion: number;
  deletion: number;
  baseline?: { classSensitivity: number; contrast: number };
}

/** One image's LayerTracer numbers: per layer class sensitivity, contrast and insertion / deletion, and a random map's. */
export interface ImageEvidence {
  layers: LayerEvidence[];
  random: { insertion: number; deletion: number };
}

/** Options of {@link layerEvidence}: whether to run insertion / deletion, and their settings. */
export interface LayerEvidenceOptions extends CausalMetricOptions {
  /** Seed of the random baseline maps (image i uses seed + i). */
  seed?: number;
  /** Skip insertion / deletion (NaN): they cost 2 * (H*W / pixelsPerStep + 1) forward passes per map. */
  causal?: boolean;
}

/** Class sensitivity and contrast of image i's maps at every layer, from class maps read back to the host. */
function mapNumbers(
  result: LayerTracerResult,
  classMaps: Map<string, Float32Array>,
  density: Float32Array,
  classes: number,
  i: number,
  plane: number,
): { target: Float32Array; classSensitivity: number; contrast: number }[] {
  const Q = result.mapClasses.length;
  const t = result.mapClasses.indexOf(result.targets[i]);
  // Contrastive S = (K C - D) / (K - 1) for the confidence map C and the mask density D.
  const confidenceMap = (map: Float32Array) =>
    result.score === 'contrastive' ? map.map((v, p) => ((classes - 1) * v + density[p]) / classes) : map;
  return result.layers.map((layer) => {
    const all = classMaps.get(layer)!;
    const row = (q: number) => all.subarray((i * Q + q) * plane, (i * Q + q + 1) * plane);
    const target = row(t);
    const others = result.mapClasses.map((_, q) => q).filter((q) => q !== t);
    const meanCorrelation = others.reduce((s, q) => s + pearson(target, row(q), { bothConstant: 0 }), 0) / others.length;
    return { target, classSensitivity: 1 - meanCorrelation, contrast: contrast(confidenceMap(target)) };
  });
}

async function readMaps(maps: Map<string, Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [l, t] of maps) out.set(l, await t.readF32());
  return out;
}

/**
 * The numbers that say whether LayerTracer's maps hold class evidence: per image and layer, class sensitivity
 * (1 - mean correlation with the other classes' maps), contrast (std / mean), both also for the decoy-mask
 * baseline, and insertion / deletion AUC (with `causal`), plus a random map's AUCs.
 */
export async function layerEvidence(
  model: Model,
  x: Tensor,
  result: LayerTracerResult,
  opts: LayerEvidenceOptions = {},
): Promise<ImageEvidence[]> {
  const e = model.engine;
  const [n, c, h, w] = x.shape;
  const plane = h * w;
  const K = model.numClasses;
  const maps = await readMaps(result.classMaps);
  const density = await result.density.readF32();
  const decoy = result.baseline && { maps: await readMaps(result.baseline.classMaps), density: await result.baseline.density.readF32() };
  const out: ImageEvidence[] = [];
  for (let i = 0; i < n; i++) {
    const image = e.empty([1, c, h, w], 'f32', 'layer-evidence.image');
    e.copy(x, i * c * plane, image, 0, c * plane);
    const causal = async (map: ArrayLike<number>) => {
      if (opts.causal === false) return { insertion: NaN, deletion: NaN };
      const r = await causalMetrics(model, image, map, opts);
      return { insertion: r.insertion.auc, deletion: r.deletion.auc };
    };
    try {
      const numbers = mapNumbers(result, maps, density, K, i, plane);
      const base = decoy && mapNumbers(result, decoy.maps, decoy.density, K, i, plane);
      const layers: LayerEvidence[] = [];
      for (const [j, layer] of result.layers.entries()) {
        const { target, classSensitivity, contrast } = numbers[j];
        const baseline = base && { classSensitivity: base[j].classSensitivity, contrast: base[j].contrast };
        layers.push({ layer, classSensitivity, contrast, ...(await causal(target)), ...(baseline ? { baseline } : {}) });
      }
      const rand = uniformRandom((opts.seed ?? 0) + i);
      const random = await causal(Float32Array.from({ length: plane }, () => rand()));
      out.push({ layers, random });
    } finally {
      e.release(image);
    }
  }
  return out;
}

/** Standard deviation over |mean| (std / mean for a positive map); 0 for a map that averages 0. */
export function contrast(map: ArrayLike<number>): number {
  const n = map.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += map[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (map[i] - mean) ** 2;
  return mean !== 0 ? Math.sqrt(v / n) / Math.abs(mean) : 0;
}
