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

/** Reads class means saved by `layertracer class-means` (or {@link classMeansToTensors}) from a parsed safetensors file. */
export function classMeansFromFile(file: SafetensorsFile): ClassMeans {
  const md = file.metadata;
  if (md.kind !== 'e2cm-class-means') {
    throw new Error(
      `${file.source}: not a class-means file (metadata kind is "${md.kind ?? 'missing'}"); make one with \`layertracer class-means\``,
    );
  }
  const exits = JSON.parse(md.exits) as string[];
  const temps = file.getF32('temperatures');
  const means = new Map<string, Float32Array>();
  const dims = new Map<string, number>();
  for (const l of exits) {
    const info = file.info(`means:${l}`);
    means.set(l, file.getF32(`means:${l}`));
    dims.set(l, info.shape[1]);
  }
  return {
    architecture: md.architecture,
    exits,
    mode: md.mode as FeatureMode,
    classes: JSON.parse(md.classes) as string[],
    means,
    dims,
    temperatures: new Map(exits.map((l, i) => [l, temps[i]] as const)),
    counts: Array.from(file.getF32('counts')),
    source: md.source ?? file.source,
  };
}
