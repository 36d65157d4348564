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

/** What the load-time weight checks allow. */
export interface WeightCheckOptions {
  /**
   * Accept NaN and infinite parameters. Off by default: one NaN weight turns every output into NaN and
   * every map into nonsense, silently. For a user who knows (e.g. a pruned model with inf masks).
   */
  allowNonFinite?: boolean;
}

/** Float dtypes a layer parameter may be stored in; integer tensors (labels, counters) are never weights. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

export function fileWeights(file: TensorFile, checks: WeightCheckOptions = {}): WeightSource & { used: Set<string> } {
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
      const { dtype } = file.info(name);
      if (!FLOAT_DTYPES.has(dtype)) {
        throw new WeightsError(
          `${file.source}: tensor "${name}" is stored as ${dtype}, an integer type, but layer ${layer} needs floating-point parameters (F32, F16 or BF16). ` +
            'The file is not a float model export; re-export with tools/export_weights.py.',
        );
      }
      used.add(name);
      const values = file.getF32(name);
      if (!checks.allowNonFinite) assertFinite(values, file.source, name, layer);
      return values;
    },
  };
}

/** Names the tensor, how many values are NaN or infinite, and where the first one is. */
function assertFinite(values: Float32Array, source: string, name: string, layer: string): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    // v - v is 0 for every finite v, NaN for NaN and +-Infinity: one comparison per value.
    if (values[i] - values[i] !== 0) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad) {
    throw new WeightsError(
      `${source}: tensor "${name}" (layer ${layer}) has ${bad} non-finite value${bad > 1 ? 's' : ''} (NaN or infinity; the first at index ${first}: ${values[first]}). ` +
        'Every output of the model would be meaningless. Re-export the weights, or pass --allow-non-finite (allowNonFinite) if you know why they are there.',
    );
  }
}
