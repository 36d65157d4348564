import { writeFile } from 'node:fs/promises';
import { acquireEngine } from '../gpu/acquire.js';
import { pca } from '../features/pca.js';
import { scatterPlot, scatterSvg } from '../features/plot.js';
import { defaultFeatureLayer, extractFeatures } from '../features/representation.js';
import { openImageSource } from '../features/source-node.js';
import { trustworthiness, tsne } from '../features/tsne.js';
import { writePng } from '../image/encode-node.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, LAYER, LIMIT, outDir, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const EMBED = defineCommand({
  name: 'embed',
  summary: 'PCA and t-SNE maps of representation space (PNG, SVG)',
  usage: '--weights FILE --data FILE|DIR [options]',
  description: `2-D maps of representation space: global-average-pooled features of every image at a layer (default:
the penultimate one, the input of the final linear layer), embedded by PCA and/or t-SNE (perplexity 30,
early exaggeration 12 for 250 iterations, 1000 iterations, PCA to 50 dimensions first, seeded), drawn
as scatter plots coloured by class with a legend, as PNG and SVG; the coordinates are saved too.`,
  options: {
    weights: { ...WEIGHTS, help: 'model weights (.safetensors)' },
    'allow-non-finite': ALLOW_NON_FINITE,
    data: { ...DATA, help: 'a dataset .safetensors (images U8 [N,H,W,3] + labels) or a folder of images' },
    method: { type: 'enum', arg: 'NAME', values: ['pca', 'tsne', 'both'], default: 'both', help: 'pca, tsne or both' },
    layer: { ...LAYER, help: 'feature layer (PyTorch module name); default the input of the final linear layer' },
    limit: { ...LIMIT, help: 'embed only the first N images (t-SNE is exact, O(N^2): keep N to a few thousand)' },
    perplexity: { type: 'number', arg: 'P', above: 0, max: 10_000, default: 30, help: 't-SNE perplexity' },
    iterations: { type: 'int', arg: 'N', min: 1, max: 100_000, default: 1000, help: 't-SNE iterations' },
    seed: { type: 'int', arg: 'S', default: 0, help: 't-SNE random start (any integer, negative too)' },
    batch: batchOption(50),
    out: outDir(
      'embed',
      'output folder; writes embed.LAYER.METHOD.{png,svg}, embed.LAYER.csv (one row per image: index,\nname, label, class, coordinates) and embed.LAYER.safetensors (the same coordinates and labels)',
    ),
    force: FORCE,
  },
  async run(values, out) {
    const methods = values.method === 'both' ? (['pca', 'tsne'] as const) : ([values.method] as ('pca' | 'tsne')[]);
    const { perplexity, seed, iterations, limit } = values;
    const names = (layer: string) => [
      ...methods.flatMap((m) => [`embed.${layer}.${m}.png`, `embed.${layer}.${m}.svg`]),
      `embed.${layer}.csv`,
      `embed.${layer}.safetensors`,
    ];
    if (values.layer) out.expect(names(values.layer));
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const layer = values.layer ?? defaultFeatureLayer(model);
      model.assertLayer(layer);
      const outputs = names(layer);
      out.expect(outputs);
      const stem = out.path(`embed.${layer}`);
      const source = await openImageSource(values.data, model.info, limit);
      if (methods.includes('tsne') && perplexity >= source.count) {
        throw new UsageError(`--perplexity ${perplexity} needs more than ${perplexity} images; the data has ${source.count}`);
      }
      const progress = new Progress('features', source.count);
      let t = Date.now();
      const f = await extractFeatures(model, source, { layer, batchSize: values.batch, onProgress: (done) => progress.update(done) });
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
        assertFiniteResult(points, `the ${method} coordinates`);
        coordinates[method] = points;
        const seconds = (Date.now() - t) / 1000;
        const trust = trustK >= 1 ? trustworthiness(f.data, points, f.count, f.dim, 2, trustK).toFixed(3) : 'n/a (fewer than 3 images)';
        console.log(`${method}: ${seconds.toFixed(1)} s, trustworthiness (k=${trustK}) ${trust}`);
        const title = `${method === 'pca' ? 'PCA' : 't-SNE'} of ${layer} features`;
        await writePng(`${stem}.${method}.png`, scatterPlot(points, f.labels, classes, { title, subtitle, ...axes }));
        await writeFile(`${stem}.${method}.svg`, scatterSvg(points, f.labels, classes, { title, subtitle, ...axes }), { flag: 'wx' });
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
        { flag: 'wx' },
      );
      await writeSafetensorsFile(`${stem}.safetensors`, tensors, {
        layer,
        model: model.info.architecture,
        data: source.description,
        methods: methods.join(','),
      });
      console.log(`wrote ${outputs.map((o) => out.final(o)).join(', ')}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EMBED_HELP = EMBED.help;
export const embedCommand = (argv: string[]): Promise<void> => EMBED.invoke(argv);

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
