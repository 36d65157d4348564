import type { SafetensorsFile, TensorSpec } from '../io/safetensors.js';
import type { ClassMeans, DataSplit, ExitCalibrationStats, MeansCalibration } from './class-means.js';
import type { FeatureMode } from './features.js';

/**
 * Class means <-> safetensors. Tensors: `means:<layer>` F32 (K, D), `scale:<layer>` F32 (K),
 * `temperatures` (exits), `counts` (K), and when calibrated `thresholds` (exits; +Infinity = never
 * fires). Metadata: kind, format (2), architecture, exits, mode, classes, source, split (JSON), and `calibration`
 * (JSON: what the thresholds were chosen on and what was measured there).
 * Files without `scale:` tensors predate calibration: they load with unit scales, their median-distance
 * temperatures, no thresholds, and `legacy` set.
 */
export const MEANS_FORMAT = 2;

interface CalibrationJson {
  source: string;
  split: DataSplit | null;
  count: number;
  maxAccuracyDrop: number;
  singleThreshold: number | null;
  finalAccuracy: number;
  perExit: { accuracy: number; computeFraction: number };
  single: { accuracy: number; computeFraction: number };
  exitStats: ExitCalibrationStats[];
}

export function classMeansToTensors(m: ClassMeans): { tensors: Record<string, TensorSpec>; metadata: Record<string, string> } {
  const K = m.classes.length;
  const L = m.exits.length;
  const tensors: Record<string, TensorSpec> = {};
  for (const layer of m.exits) {
    tensors[`means:${layer}`] = { dtype: 'F32', shape: [K, m.dims.get(layer)!], data: m.means.get(layer)! };
    tensors[`scale:${layer}`] = { dtype: 'F32', shape: [K], data: m.scales.get(layer)! };
  }
  tensors.temperatures = { dtype: 'F32', shape: [L], data: Float32Array.from(m.exits, (l) => m.temperatures.get(l)!) };
  tensors.counts = { dtype: 'F32', shape: [m.counts.length], data: Float32Array.from(m.counts) };
  const metadata: Record<string, string> = {
    kind: 'e2cm-class-means',
    format: String(MEANS_FORMAT),
    architecture: m.architecture,
    exits: JSON.stringify(m.exits),
    mode: m.mode,
    classes: JSON.stringify(m.classes),
    source: m.source,
  };
  if (m.split) metadata.split = JSON.stringify(m.split);
  const c = m.calibration;
  if (c) {
    tensors.thresholds = { dtype: 'F32', shape: [L], data: Float32Array.from(m.exits, (l) => c.thresholds.get(l)!) };
    const json: CalibrationJson = {
      source: c.source,
      split: c.split,
      count: c.count,
      maxAccuracyDrop: c.maxAccuracyDrop,
      singleThreshold: Number.isFinite(c.singleThreshold) ? c.singleThreshold : null,
      finalAccuracy: c.finalAccuracy,
      perExit: c.perExit,
      single: c.single,
      exitStats: c.exitStats,
    };
    metadata.calibration = JSON.stringify(json);
  }
  return { tensors, metadata };
}

export function classMeansFromFile(file: SafetensorsFile): ClassMeans {
  const md = file.metadata;
  if (md.kind !== 'e2cm-class-means') {
    throw new Error(
      `${file.source}: not a class-means file (metadata kind is "${md.kind ?? 'missing'}"); make one with \`layertracer class-means\``,
    );
  }
  const format = Number(md.format ?? 1);
  if (format > MEANS_FORMAT) {
    throw new Error(
      `${file.source}: class-means format ${format} is newer than this LayerTracer reads (${MEANS_FORMAT}); update LayerTracer`,
    );
  }
  const exits = JSON.parse(md.exits) as string[];
  const classes = JSON.parse(md.classes) as string[];
  const legacy = format < 2;
  const temps = file.getF32('temperatures');
  const means = new Map<string, Float32Array>();
  const dims = new Map<string, number>();
  const scales = new Map<string, Float32Array>();
  for (const l of exits) {
    const info = file.info(`means:${l}`);
    means.set(l, file.getF32(`means:${l}`));
    dims.set(l, info.shape[1]);
    scales.set(l, legacy ? new Float32Array(classes.length).fill(1) : file.getF32(`scale:${l}`));
  }
  let calibration: MeansCalibration | null = null;
  if (!legacy && md.calibration) {
    const c = JSON.parse(md.calibration) as CalibrationJson;
    const thresholds = file.getF32('thresholds');
    calibration = {
      ...c,
      split: c.split ?? null,
      singleThreshold: c.singleThreshold ?? Infinity,
      thresholds: new Map(exits.map((l, i) => [l, thresholds[i]] as const)),
    };
  }
  return {
    architecture: md.architecture,
    exits,
    mode: md.mode as FeatureMode,
    classes,
    means,
    dims,
    scales,
    temperatures: new Map(exits.map((l, i) => [l, temps[i]] as const)),
    counts: Array.from(file.getF32('counts')),
    source: md.source ?? file.source,
    split: md.split ? (JSON.parse(md.split) as DataSplit) : null,
    calibration,
    legacy,
  };
}
