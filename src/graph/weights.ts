import { formatShape } from '../gpu/errors.js';

/** Raised when weights do not fit the architecture: names the file, the tensor and the layer. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** Where a builder gets parameters from: a safetensors file, or the seeded generator. */
export interface WeightSource {
  /** For messages: a file path or "seeded(seed=0)". */
  readonly description: string;
  /** The tensor named `name`, which must have exactly `shape`. */
  get(name: string, shape: readonly number[], layer: string): Float32Array;
  /** The shape stored under `name`, or undefined when absent (for architecture inference). */
  shapeOf(name: string): readonly number[] | undefined;
  names(): string[];
}

/** The subset of the safetensors reader the graph needs. */
export interface TensorFile {
  source: string;
  names(): string[];
  has(name: string): boolean;
  info(name: string): { dtype: string; shape: number[] };
  getF32(name: string): Float32Array;
}

export function fileWeights(file: TensorFile): WeightSource & { used: Set<string> } {
  const used = new Set<string>();
  return {
    description: file.source,
    used,
    names: () => file.names(),
    shapeOf: (name) => (file.has(name) ? file.info(name).shape : undefined),
    get(name, shape, layer) {
      if (!file.has(name)) {
        const near = file
          .names()
          .filter((n) => n.startsWith(name.split('.').slice(0, -1).join('.')))
          .slice(0, 5);
        throw new WeightsError(
          `${file.source}: missing tensor "${name}" needed by layer ${layer}${near.length ? `; the file has ${near.join(', ')}` : ''}. ` +
            'Is this the right architecture? Re-export with tools/export_weights.py.',
        );
      }
      const actual = file.info(name).shape;
      if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
        throw new WeightsError(
          `${file.source}: tensor "${name}" has shape ${formatShape(actual)} but layer ${layer} expects ${formatShape(shape)}`,
        );
      }
      used.add(name);
      return file.getF32(name);
    },
  };
}
