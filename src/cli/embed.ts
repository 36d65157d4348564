import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import { pca } from '../features/pca.js';
import { scatterPlot, scatterSvg } from '../features/plot.js';
import { defaultFeatureLayer, extractFeatures } from '../features/representation.js';
import { openImageSource } from '../features/source-node.js';
import { trustworthiness, tsne } from '../features/tsne.js';
import { writePng } from '../image/encode-node.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { UsageError } from './errors.js';
import { positiveInt } from './filters.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const EMBED_HELP = `layertracer embed --weights FILE --data FILE|DIR [options]

2-D maps of representation space: global-average-pooled features of every image at a layer (default:
the penultimate one, the input of the final linear layer), embedded by PCA and/or t-SNE (perplexity 30,
early exaggeration 12 for 250 iterations, 1000 iterations, PCA to 50 dimensions first, seeded), drawn
as scatter plots coloured by class with a legend, as PNG and SVG; the coordinates are saved too.

  --weights FILE      model weights (.safetensors)
  --data FILE|DIR     a dataset .safetensors (images U8 [N,H,W,3] + labels) or a folder of images
  --method NAME       pca, tsne or both (default both)
  --layer NAME        feature layer (PyTorch module name); default the input of the final linear layer
  --limit N           embed only the first N images (t-SNE is exact, O(N^2): keep N to a few thousand)
  --perplexity P      t-SNE perplexity (default 30)
  --iterations N      t-SNE iterations (default 1000)
  --seed S            t-SNE random start (default 0)
  --batch N           images per forward pass (default 50)
  --out DIR           output folder (default out/embed); writes embed.LAYER.METHOD.{png,svg},
                      embed.LAYER.csv (one row per image: index, name, label, class, coordinates)
                      and embed.LAYER.safetensors (the same coordinates and labels)
  --force             overwrite existing output files (never done otherwise)
  -h, --help          this text
`;

export async function embedCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      method: { type: 'string', default: 'both' },
      layer: { type: 'string' },
      limit: { type: 'string' },
      perplexity: { type: 'string', default: '30' },
      iterations: { type: 'string' },
      seed: { type: 'string', default: '0' },
      batch: { type: 'string' },
      out: { type: 'string', default: join('out', 'embed') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(EMBED_HELP);
  if (!values.weights) throw new UsageError('embed needs --weights FILE (see --help)');
  if (!values.data) throw new UsageError('embed needs --data FILE|DIR (see --help)');
  if (!['pca', 'tsne', 'both'].includes(values.method!)) throw new UsageError(`--method must be pca, tsne or both, got "${values.method}"`);
  const methods = values.method === 'both' ? (['pca', 'tsne'] as const) : ([values.method] as ('pca' | 'tsne')[]);
  const perplexity = Number(values.perplexity);
  if (!(perplexity > 0)) throw new UsageError(`--perplexity must be a positive number, got "${values.perplexity}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
  const iterations = positiveInt(values.iterations, '--iterations', 1000)!;
  const limit = positiveInt(values.limit, '--limit');
  const batchSize = positiveInt(values.batch, '--batch', 50);

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const layer = values.layer ?? defaultFeatureLayer(model);
    model.assertLayer(layer);
    const stem = join(values.out!, `embed.${layer}`);
    const outputs = [...methods.flatMap((m) => [`${stem}.${m}.png`, `${stem}.${m}.svg`]), `${stem}.csv`, `${stem}.safetensors`];
    if (!values.force) {
      const clash = outputs.filter((p) => existsSync(p));
      if (clash.length)
        throw new UsageError(
          `output files already exist (${clash.slice(0, 3).join(', ')}${clash.length > 3 ? ', ...' : ''}); pass --force to overwrite or choose another --out`,
        );
    }
    const source = await openImageSource(values.data, model.info, limit);
    if (methods.includes('tsne') && perplexity >= source.count) {
      throw new UsageError(`--perplexity ${perplexity} needs more than ${perplexity} images; the data has ${source.count}`);
    }
    const progress = new Progress('features', source.count);
    let t = Date.now();
    const f = await extractFeatures(model, source, { layer, batchSize, onProgress: (done) => progress.update(done) });
    progress.done();
    console.log(`${layer}: ${f.dim}-d features of ${f.count} images in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const what = `${f.count} images, ${layer} features (${f.dim}-d), ${model.info.architecture}`;
    const tensors: Record<string, { dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }> = {
      labels: { dtype: 'I32', shape: [f.count], data: f.labels },
      indices: { dtype: 'I32', shape: [f.count], data: Int32Array.from(f.indices) },
    };
    const trustK = Math.min(5, Math.floor((f.count - 1) / 2));
    const coordinates: Record<string, Float64Array> = {};
    const classes = source.classes.length ? source.classes : model.info.classes;
    for (const method of methods) {
      t = Date.now();
      let points: Float64Array;
      let subtitle: string;
      let axes: { xLabel: string; yLabel: string };
      if (method === 'pca') {
        const r = pca(f.data, f.count, f.dim, 2);
        points = r.projections;
        const ev = Array.from(r.explainedVarianceRatio, (v) => `${(100 * v).toFixed(1)}%`);
        subtitle = `PC1 ${ev[0]} and PC2 ${ev[1]} of the variance; ${what}`;
        axes = { xLabel: `PC1 (${ev[0]} of the variance)`, yLabel: `PC2 (${ev[1]})` };
      } else {
        const bar = new Progress('t-SNE', iterations);
        const r = tsne(f.data, f.count, f.dim, {
          perplexity,
          iterations,
          seed,
          onProgress: (it, _total, kl) => bar.update(it, `KL ${kl.toFixed(3)}`),
        });
        bar.done(`KL ${r.kl.toFixed(3)}`);
        points = r.embedding;
        subtitle = `perplexity ${perplexity}, ${iterations} iterations, seed ${seed}, KL ${r.kl.toFixed(3)}; ${what}`;
        // t-SNE keeps neighbourhoods, not distances: its axes have no unit to read.
        axes = { xLabel: 't-SNE 1 (no unit: read neighbourhoods, not distances)', yLabel: 't-SNE 2' };
      }
      coordinates[method] = points;
      const seconds = (Date.now() - t) / 1000;
      const trust = trustK >= 1 ? trustworthiness(f.data, points, f.count, f.dim, 2, trustK) : NaN;
      console.log(`${method}: ${seconds.toFixed(1)} s, trustworthiness (k=${trustK}) ${trust.toFixed(3)}`);
      const title = `${method === 'pca' ? 'PCA' : 't-SNE'} of ${layer} features`;
      await writePng(`${stem}.${method}.png`, scatterPlot(points, f.labels, classes, { title, subtitle, ...axes }), {
        force: values.force,
      });
      await writeFile(`${stem}.${method}.svg`, scatterSvg(points, f.labels, classes, { title, subtitle, ...axes }), {
        flag: values.force ? 'w' : 'wx',
      });
      tensors[method] = { dtype: 'F32', shape: [f.count, 2], data: Float32Array.from(points) };
    }
    await writeFile(
      `${stem}.csv`,
      embeddingCsv(
        f.indices,
        (i) => source.name(i),
        f.labels,
        classes,
        methods.map((m) => ({ name: m, points: coordinates[m] })),
      ),
      { flag: values.force ? 'w' : 'wx' },
    );
    await writeSafetensorsFile(
      `${stem}.safetensors`,
      tensors,
      { layer, model: model.info.architecture, data: source.description, methods: methods.join(',') },
      { force: values.force },
    );
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

/** One row per image: its index in the data, its name, label and class, then x and y of each embedding. */
export function embeddingCsv(
  indices: ArrayLike<number>,
  name: (index: number) => string,
  labels: ArrayLike<number>,
  classes: readonly string[],
  embeddings: { name: string; points: ArrayLike<number> }[],
): string {
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const header = ['index', 'name', 'label', 'class', ...embeddings.flatMap((e) => [`${e.name}_x`, `${e.name}_y`])];
  const lines = [header.join(',')];
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    lines.push(
      [
        String(indices[i]),
        cell(name(indices[i])),
        String(label),
        cell(label >= 0 ? (classes[label] ?? '') : ''),
        ...embeddings.flatMap((e) => [String(e.points[2 * i]), String(e.points[2 * i + 1])]),
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
