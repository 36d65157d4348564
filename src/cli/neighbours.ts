import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import { nearestNeighbours, parseMetric } from '../features/knn.js';
import { defaultFeatureLayer, extractFeatures } from '../features/representation.js';
import { openImageSource } from '../features/source-node.js';
import { neighbourStrips } from '../features/strips.js';
import { writePng } from '../image/encode-node.js';
import { UsageError } from './errors.js';
import { positiveInt } from './filters.js';
import { loadModelFile } from './load-model.js';
import { parseIndexList } from './patches.js';
import { Progress } from './progress.js';

export const NEIGHBOURS_HELP = `layertracer neighbours --weights FILE --data FILE|DIR --queries LIST [options]

Nearest neighbours in representation space: global-average-pooled features of every image at a layer
(default: the penultimate one, the input of the final linear layer), the distance matrix from each
query to the whole set on the GPU, and a PNG with one strip per query: the query, then its k nearest
images (green frame: same label as the query, red: different).

  --weights FILE      model weights (.safetensors)
  --data FILE|DIR     a dataset .safetensors (images U8 [N,H,W,3] + labels) or a folder of images
  --queries LIST      image indices into the data: 0,1,2 or ranges 0-4
  --k N               neighbours per query (default 8)
  --metric NAME       euclidean (default) or cosine
  --layer NAME        feature layer (PyTorch module name); default the input of the final linear layer
  --limit N           use only the first N images as the searchable set
  --batch N           images per forward pass (default 50)
  --out DIR           output folder (default out/neighbours); writes neighbours.LAYER.METRIC.png
  --force             overwrite existing output files (never done otherwise)
  -h, --help          this text
`;

export async function neighboursCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      queries: { type: 'string' },
      k: { type: 'string' },
      metric: { type: 'string', default: 'euclidean' },
      layer: { type: 'string' },
      limit: { type: 'string' },
      batch: { type: 'string' },
      out: { type: 'string', default: join('out', 'neighbours') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(NEIGHBOURS_HELP);
  if (!values.weights) throw new UsageError('neighbours needs --weights FILE (see --help)');
  if (!values.data) throw new UsageError('neighbours needs --data FILE|DIR (see --help)');
  if (!values.queries) throw new UsageError('neighbours needs --queries LIST, e.g. 0,1,2 (see --help)');
  const queries = parseIndexList(values.queries, '--queries');
  const k = positiveInt(values.k, '--k', 8)!;
  const metric = (() => {
    try {
      return parseMetric(values.metric!);
    } catch (err) {
      throw new UsageError(`--metric: ${(err as Error).message}`);
    }
  })();
  const limit = positiveInt(values.limit, '--limit');
  const batchSize = positiveInt(values.batch, '--batch', 50);

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const layer = values.layer ?? defaultFeatureLayer(model);
    model.assertLayer(layer);
    const path = join(values.out!, `neighbours.${layer}.${metric}.png`);
    if (!values.force && existsSync(path))
      throw new UsageError(`output file ${path} already exists; pass --force to overwrite or choose another --out`);
    const source = await openImageSource(values.data, model.info, limit);
    const bad = queries.find((q) => q >= source.count);
    if (bad !== undefined)
      throw new UsageError(
        `--queries: image ${bad} is out of range; the data has images 0..${source.count - 1}${limit ? ` (--limit ${limit})` : ''}`,
      );
    if (k > source.count - 1)
      throw new UsageError(`--k ${k} is too large: the set has ${source.count} images, so at most ${source.count - 1} neighbours`);
    const progress = new Progress('features', source.count);
    const t0 = Date.now();
    const features = await extractFeatures(model, source, { layer, batchSize, onProgress: (done) => progress.update(done) });
    progress.done();
    const t1 = Date.now();
    const result = await nearestNeighbours(engine, features.data, features.dim, queries, { k, metric });
    console.log(
      `${layer}: ${features.dim}-d features of ${source.count} images in ${((t1 - t0) / 1000).toFixed(1)} s; ${metric} neighbours in ${((Date.now() - t1) / 1000).toFixed(2)} s`,
    );
    const describe = (i: number) => {
      const l = source.label(i);
      return `${source.name(i)}${l >= 0 ? ` ${source.classes[l] ?? l}` : ''}`;
    };
    queries.forEach((q, r) => {
      const list = Array.from(result.indices[r], (j, n) => `${describe(j)} (${result.distances[r][n].toFixed(3)})`);
      console.log(`  ${describe(q)}: ${list.join(', ')}`);
    });
    await writePng(path, await neighbourStrips(source, queries, result.indices), { force: values.force });
    console.log(`wrote ${path}`);
    model.release();
  } finally {
    engine.destroy();
  }
}
