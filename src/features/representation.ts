/**
 * Representation space (docs/design.md §2.16): one global-average-pooled feature vector per image at a layer,
 * by default the penultimate representation (the input of the final linear layer).
 */
import { exitFeature } from '../e2cm/features.js';
import type { Model } from '../graph/model.js';
import { FeatureInputError } from './errors.js';
import type { ImageSource } from './image-source.js';
import { scanSource, type ScanOptions } from './scan.js';
import { scoped } from '../gpu/scopes.js';

/** The layer whose output feeds the last linear layer: `flatten` in ResNets, `classifier.5` in VGG. */
export function defaultFeatureLayer(model: Model): string {
  const nodes = model.graph.nodes;
  const last = [...nodes].reverse().find((n) => n.op === 'linear');
  if (!last) throw new FeatureInputError(`${model.info.architecture} has no linear layer; name a feature layer explicitly`);
  const producer = model.graph.producer(last.inputs[0]);
  if (!producer)
    throw new FeatureInputError(`${model.info.architecture}: the final linear layer reads the input directly; name a feature layer`);
  return producer.name;
}

/** Feature vectors of a source's images at one layer (spatially averaged), with their source indices and labels. */
export interface Features {
  layer: string;
  /** (count, dim) row-major. */
  data: Float32Array;
  count: number;
  dim: number;
  /** Source index of each row. */
  indices: number[];
  /** Label of each row (-1 when unknown). */
  labels: Int32Array;
}

/** Options of {@link extractFeatures}. */
export interface FeatureOptions extends ScanOptions {
  /** Default: defaultFeatureLayer(model). */
  layer?: string;
}

/** Features of the source's images at one layer, (N, C, H, W) maps averaged over H, W on the GPU. */
export const extractFeatures = scoped(async function extractFeatures(
  model: Model,
  source: ImageSource,
  opts: FeatureOptions = {},
): Promise<Features> {
  const layer = opts.layer ?? defaultFeatureLayer(model);
  const e = model.engine;
  const indices = [...(opts.indices ?? Array.from({ length: source.count }, (_, i) => i))];
  const chunks: Float32Array[] = [];
  let dim = -1;
  await scanSource(
    model,
    source,
    [layer],
    async (trace) => {
      const f = exitFeature(e, trace, layer, 'gap');
      try {
        dim = f.shape[1];
        chunks.push(await f.readF32());
      } finally {
        e.release(f);
      }
    },
    { ...opts, indices },
  );
  const data = new Float32Array(indices.length * dim);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { layer, data, count: indices.length, dim, indices, labels: Int32Array.from(indices, (i) => source.label(i)) };
});
