import { WeightsError } from '../graph/weights.js';
import type { SafetensorsFile, TensorSpec } from '../io/safetensors.js';
import type { ClassMeans } from './class-means.js';
import type { FeatureMode } from './features.js';

/** Class means <-> safetensors: `means:<layer>` F32 (K, D), temperatures and counts in tensors, the rest in metadata. */
export function classMeansToTensors(m: ClassMeans): { tensors: Record<string, TensorSpec>; metadata: Record<string, string> } {
  const tensors: Record<string, TensorSpec> = {};
  for (const layer of m.exits) {
    tensors[`means:${layer}`] = { dtype: 'F32', shape: [m.classes.length, m.dims.get(layer)!], data: m.means.get(layer)! };
  }
  tensors.temperatures = { dtype: 'F32', shape: [m.exits.length], data: Float32Array.from(m.exits, (l) => m.temperatures.get(l)!) };
  tensors.counts = { dtype: 'F32', shape: [m.counts.length], data: Float32Array.from(m.counts) };
  const metadata = {
    kind: 'e2cm-class-means',
    architecture: m.architecture,
    exits: JSON.stringify(m.exits),
    mode: m.mode,
    classes: JSON.stringify(m.classes),
    source: m.source,
  };
  return { tensors, metadata };
}

/** A class-means file is user input: every field is checked, and a failure names the file and the field. */
export function classMeansFromFile(file: SafetensorsFile): ClassMeans {
  const md = file.metadata;
  const fail = (what: string) => new WeightsError(`${file.source}: ${what}; make the class means again with \`layertracer class-means\``);
  if (md.kind !== 'e2cm-class-means') {
    throw fail(`not a class-means file (metadata kind is ${JSON.stringify(md.kind?.slice(0, 40) ?? 'missing')})`);
  }
  const exits = stringList(md.exits, 'exits', fail);
  const classes = stringList(md.classes, 'classes', fail);
  if (!exits.length || !classes.length) throw fail('metadata lists no exits or no classes');
  if (md.mode !== 'gap' && md.mode !== 'full') throw fail(`metadata "mode" must be gap or full`);
  const temps = finiteTensor(file, 'temperatures', [exits.length], fail);
  if (temps.some((t) => !(t > 0))) throw fail('a temperature is not positive');
  const means = new Map<string, Float32Array>();
  const dims = new Map<string, number>();
  for (const l of exits) {
    const name = `means:${l}`;
    if (!file.has(name)) throw fail(`tensor "${name}" is missing`);
    const shape = file.info(name).shape;
    if (shape.length !== 2 || shape[0] !== classes.length || shape[1] < 1)
      throw fail(`tensor "${name}" has shape [${shape.join(', ')}], expected [${classes.length}, D]`);
    means.set(l, finiteTensor(file, name, shape, fail));
    dims.set(l, shape[1]);
  }
  return {
    architecture: md.architecture,
    exits,
    mode: md.mode as FeatureMode,
    classes,
    means,
    dims,
    temperatures: new Map(exits.map((l, i) => [l, temps[i]] as const)),
    counts: Array.from(finiteTensor(file, 'counts', [classes.length], fail)),
    source: md.source ?? file.source,
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

/** A float tensor of exactly this shape with no NaN or infinity (a NaN mean makes every confidence NaN). */
function finiteTensor(file: SafetensorsFile, name: string, shape: readonly number[], fail: (what: string) => Error): Float32Array {
  if (!file.has(name)) throw fail(`tensor "${name}" is missing`);
  const info = file.info(name);
  if (!['F32', 'F16', 'BF16'].includes(info.dtype)) throw fail(`tensor "${name}" is ${info.dtype}, expected a float type`);
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
    throw fail(`tensor "${name}" has shape [${info.shape.join(', ')}], expected [${shape.join(', ')}]`);
  const data = file.getF32(name);
  if (data.some((v) => !Number.isFinite(v))) throw fail(`tensor "${name}" holds NaN or infinite values`);
  return data;
}
