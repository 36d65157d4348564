import { acquireEngine } from '../gpu/acquire.js';
import { METRICS, nearestNeighbours } from '../features/knn.js';
import { defaultFeatureLayer, extractFeatures } from '../features/representation.js';
import { openImageSource } from '../features/source-node.js';
import { neighbourStrips } from '../features/strips.js';
import { writePng } from '../image/encode-node.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, LAYER, LIMIT, outDir, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const NEIGHBOURS = defineCommand({
  name: 'neighbours',
  summary: 'nearest neighbours in representation space, as PNG strips',
  usage: '--weights FILE --data FILE|DIR --queries LIST [options]',
  description: `Nearest neighbours in representation space: global-average-pooled features of every image at a layer
(default: the penultimate one, the input of the final linear layer), the distance matrix from each
query to the whole set on the GPU, and a PNG with one strip per query: the query, then its k nearest
images (green frame: same label as the query, red: different).`,
  options: {
    weights: { ...WEIGHTS, help: 'model weights (.safetensors)' },
    'allow-non-finite': ALLOW_NON_FINITE,
    data: { ...DATA, help: 'a dataset .safetensors (images U8 [N,H,W,3] + labels) or a folder of images' },
    queries: { type: 'index-list', arg: 'LIST', required: true, help: 'image indices into the data: 0,1,2 or ranges 0-4' },
    k: { type: 'int', arg: 'N', min: 1, max: 1000, default: 8, help: 'neighbours per query' },
    metric: { type: 'enum', arg: 'NAME', values: METRICS, default: 'euclidean', help: 'euclidean or cosine' },
    layer: { ...LAYER, help: 'feature layer (PyTorch module name); default the input of the final linear layer' },
    limit: { ...LIMIT, help: 'use only the first N images as the searchable set' },
    batch: batchOption(50),
    out: outDir('neighbours', 'output folder; writes neighbours.LAYER.METRIC.png'),
    force: FORCE,
  },
  async run(values, out) {
    const { queries, k, metric, limit } = values;
    if (values.layer) out.expect([`neighbours.${values.layer}.${metric}.png`]);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const layer = values.layer ?? defaultFeatureLayer(model);
      model.assertLayer(layer);
      const name = `neighbours.${layer}.${metric}.png`;
      out.expect([name]);
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
      const features = await extractFeatures(model, source, {
        layer,
        batchSize: values.batch,
        onProgress: (done) => progress.update(done),
      });
      progress.done();
      const t1 = Date.now();
      assertFiniteResult(features.data, `the ${layer} features`);
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
      await writePng(out.path(name), await neighbourStrips(source, queries, result.indices));
      console.log(`wrote ${out.final(name)}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const NEIGHBOURS_HELP = NEIGHBOURS.help;
export const neighboursCommand = (argv: string[]): Promise<void> => NEIGHBOURS.invoke(argv);
