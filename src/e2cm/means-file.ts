import { WeightsError } from '../graph/weights.js';
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

/** Class means as safetensors tensors and metadata, the layout {@link classMeansFromFile} reads (format {@link MEANS_FORMAT}). */
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

/** A class-means file is user input: every field is checked, and a failure names the file and the field. */
export function classMeansFromFile(file: SafetensorsFile): ClassMeans {
  const md = file.metadata;
  const fail = (what: string) => new WeightsError(`${file.source}: ${what}; make the class means again with \`layertracer class-means\``);
  if (md.kind !== 'e2cm-class-means') {
    throw fail(`not a class-means file (metadata kind is ${JSON.stringify(md.kind?.slice(0, 40) ?? 'missing')})`);
  }
  const format = Number(md.format ?? 1);
  if (!Number.isInteger(format) || format < 1) throw fail(`metadata "format" must be a positive integer`);
  if (format > MEANS_FORMAT) {
    throw new WeightsError(
      `${file.source}: class-means format ${format} is newer than this LayerTracer reads (${MEANS_FORMAT}); update LayerTracer`,
    );
  }
  const legacy = format < 2;
  const exits = stringList(md.exits, 'exits', fail);
  const classes = stringList(md.classes, 'classes', fail);
  if (!exits.length || !classes.length) throw fail('metadata lists no exits or no classes');
  if (md.mode !== 'gap' && md.mode !== 'full') throw fail(`metadata "mode" must be gap or full`);
  const temps = finiteTensor(file, 'temperatures', [exits.length], fail);
  if (temps.some((t) => !(t > 0))) throw fail('a temperature is not positive');
  const means = new Map<string, Float32Array>();
  const dims = new Map<string, number>();
  const scales = new Map<string, Float32Array>();
  for (const l of exits) {
    const name = `means:${l}`;
    if (!file.has(name)) throw fail(`tensor "${name}" is missing`);
    const shape = file.info(name).shape;
    if (shape.length !== 2 || shape[0] !== classes.length || shape[1] < 1)
      throw fail(`tensor "${name}" has shape [${shape.join(', ')}], expected [${classes.length}, D]`);
    means.set(l, finiteTensor(file, name, shape, fail));
    dims.set(l, shape[1]);
    if (legacy) {
      scales.set(l, new Float32Array(classes.length).fill(1));
    } else {
      const scale = finiteTensor(file, `scale:${l}`, [classes.length], fail);
      if (scale.some((s) => !(s > 0))) throw fail(`a distance scale of exit "${l}" is not positive`);
      scales.set(l, scale);
    }
  }
  let calibration: MeansCalibration | null = null;
  if (!legacy && md.calibration) {
    const c = jsonObject(md.calibration, 'calibration', fail) as unknown as CalibrationJson;
    // +Infinity is a valid threshold (that exit never fires); NaN is not.
    const thresholds = floatTensor(file, 'thresholds', [exits.length], fail);
    if (thresholds.some((t) => Number.isNaN(t))) throw fail('tensor "thresholds" holds NaN');
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
    counts: Array.from(finiteTensor(file, 'counts', [classes.length], fail)),
    source: md.source ?? file.source,
    split: md.split ? (jsonObject(md.split, 'split', fail) as unknown as DataSplit) : null,
    calibration,
    legacy,
  };
}

function stringList(text: string | undefined, key: string, fail: (what: string) => Error): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    throw fail(`metadata "${key}" is missing or not valid JSON`);
  }
  if (!Array.isArray(v) || v.length > 10_000 || !v.every((x) => typeof x === 'string' && x.length <= 256))
    throw fail(`metadata "${key}" must be a JSON list of names`);
  return v as string[];
}

function jsonObject(text: string, key: string, fail: (what: string) => Error): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw fail(`metadata "${key}" is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(`metadata "${key}" must be a JSON object`);
  return v as Record<string, unknown>;
}

/** A float tensor of exactly this shape. */
function floatTensor(file: SafetensorsFile, name: string, shape: readonly number[], fail: (what: string) => Error): Float32Array {
  if (!file.has(name)) throw fail(`tensor "${name}" is missing`);
  const info = file.info(name);
  if (!['F32', 'F16', 'BF16'].includes(info.dtype)) throw fail(`tensor "${name}" is ${info.dtype}, expected a float type`);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
    throw fail(`tensor "${name}" has shape [${info.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return file.getF32(name);
}

/** A float tensor of exactly this shape with no NaN or infinity (a NaN mean makes every confidence NaN). */
function finiteTensor(file: SafetensorsFile, name: string, shape: readonly number[], fail: (what: string) => Error): Float32Array {
  const data = floatTensor(file, name, shape, fail);
  if (data.some((v) => !Number.isFinite(v))) throw fail(`tensor "${name}" holds NaN or infinite values`);
  return data;
}
