import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLabelledSet } from '../data/labelled-source.js';
import { acquireEngine } from '../gpu/acquire.js';
import { writePng } from '../image/encode-node.js';
import { BASELINES, findMethod, METHODS } from '../methods/registry.js';
import { lineChart, lineChartSvg } from '../report/line-plot.js';
import { randomisableLayers } from '../sanity/randomise.js';
import {
  MEASURE_TITLES,
  modelRandomisationTest,
  sanityTables,
  SIMILARITY_MEASURES,
  type SanityResult,
  type SimilarityMeasure,
} from '../sanity/sanity.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { checkMethodOptions, METHOD_OPTION_FLAGS, METHOD_OPTIONS_HELP, parseMethodOptions } from './method-options.js';
import { Progress } from './progress.js';

const DEFAULT_METHODS = 'grad-cam,guided-backprop,saliency,edge';

export const SANITY_HELP = `layertracer sanity --weights FILE --data FILE|DIR [options]

The model-parameter randomisation test (Adebayo et al. 2018): the model's layers are replaced, from the
output back, by random ones with the same mean and spread (cascading: one more layer each step;
independent: one layer at a time), every map is recomputed for the same images and classes, and
compared with the trained model's map by Spearman rank correlation (absolute: of |map|; signed: of the
raw signed values), SSIM and HOG similarity. A method that explains the model falls towards 0; one that
only shows the image (the edge detector here) stays at 1. The loaded weights are never modified.
Writes sanity.md (tables), sanity.json (every image's scores) and one curve per mode and measure
(sanity-MODE-MEASURE.png / .svg).

  --weights FILE         model weights
  --data FILE|DIR        labelled images (safetensors or a folder per class)
  --range A:B            images A..B-1 (default 0:20)
  --methods LIST         comma-separated (default ${DEFAULT_METHODS}); any of
                         ${[...METHODS, ...BASELINES].map((m) => m.name).join(', ')}
  --mode MODE            cascading (default), independent, or both
  --granularity G        block (default: a residual block, or a conv with its batch-norm) or module
  --seed N               seed of the random parameters, and of the methods' own noise (default 0)
  --target label|top1    the class every map explains: the image's label (default) or the trained
                         model's top-1; the same at every step
  --layer NAME           layer for the CAM-family methods (default: the model's last conv stage)
  --batch N              images per batch (default 16)
  --resamples N          bootstrap resamples for the 95 % intervals (default 2000)
  --out DIR              default out/sanity
  --force                overwrite existing outputs

${METHOD_OPTIONS_HELP}`;

export async function sanityCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      range: { type: 'string', default: '0:20' },
      methods: { type: 'string', default: DEFAULT_METHODS },
      mode: { type: 'string', default: 'cascading' },
      granularity: { type: 'string', default: 'block' },
      target: { type: 'string', default: 'label' },
      layer: { type: 'string' },
      batch: { type: 'string', default: '16' },
      resamples: { type: 'string', default: '2000' },
      ...METHOD_OPTION_FLAGS,
      out: { type: 'string', default: join('out', 'sanity') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(SANITY_HELP);
  if (!values.weights || !values.data) throw new UsageError('sanity needs --weights and --data (see --help)');
  const methods = values.methods!.split(',').map((s) => findMethod(s.trim()));
  const modes = values.mode === 'both' ? (['cascading', 'independent'] as const) : [values.mode];
  for (const m of modes)
    if (m !== 'cascading' && m !== 'independent')
      throw new UsageError(`--mode must be cascading, independent or both, got "${values.mode}"`);
  const granularity = values.granularity;
  if (granularity !== 'block' && granularity !== 'module')
    throw new UsageError(`--granularity must be block or module, got "${granularity}"`);
  const target = values.target;
  if (target !== 'label' && target !== 'top1') throw new UsageError(`--target must be label or top1, got "${target}"`);
  const positive = (flag: string, text: string | undefined) => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
    return v;
  };
  const batchSize = positive('batch', values.batch);
  const resamples = positive('resamples', values.resamples);
  const runOptions = parseMethodOptions(values);
  const out = values.out!;
  const files = [
    'sanity.md',
    'sanity.json',
    ...modes.flatMap((mode) => SIMILARITY_MEASURES.flatMap((m) => [`sanity-${mode}-${m}.png`, `sanity-${mode}-${m}.svg`])),
  ].map((f) => join(out, f));
  if (!values.force && files.some(existsSync)) throw new UsageError(`${out} already holds sanity outputs; pass --force to overwrite`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    checkMethodOptions(model, runOptions);
    if (values.layer) model.assertLayer(values.layer);
    const refused = methods.filter((m) => m.supports && !m.supports(model));
    if (refused.length) throw new UsageError(`${refused.map((m) => m.name).join(', ')} do(es) not apply to ${model.info.architecture}`);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const note = `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}`;
    const results: SanityResult[] = [];
    for (const mode of modes as ('cascading' | 'independent')[]) {
      const steps = randomisableLayers(model, granularity).length + 1;
      const progress = new Progress(`sanity (${mode})`, range.count * methods.length * steps);
      results.push(
        await modelRandomisationTest(model, set.batches(model.info, range), methods, {
          mode,
          granularity,
          seed: runOptions.seed,
          target,
          batchSize,
          resamples,
          runOptions: { ...runOptions, ...(values.layer ? { layer: values.layer } : {}) },
          onProgress: (done, _total, what) => progress.update(done, what),
        }),
      );
      progress.done();
    }
    const tables = results.map((r) => sanityTables(r, note)).join('\n');
    console.log(tables);
    await mkdir(out, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(files[0], tables, { flag });
    await writeFile(files[1], JSON.stringify({ note, runOptions, results }, null, 2), { flag });
    let k = 2;
    for (const r of results) {
      for (const measure of SIMILARITY_MEASURES) {
        const chart = sanityChart(r, measure, note);
        await writePng(files[k++], lineChart(chart.series, chart.options), { force: values.force });
        await writeFile(files[k++], lineChartSvg(chart.series, chart.options), { flag });
      }
    }
    console.log(`wrote ${files.length} files in ${out}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

/** One curve per method: similarity to the trained model's maps at each step, starting at 1 (nothing randomised). */
export function sanityChart(r: SanityResult, measure: SimilarityMeasure, note: string) {
  const steps = r.steps.length;
  return {
    series: r.methods.map((method) => ({
      name: method,
      y: [1, ...r.steps.map((s) => s.summary[method][measure].mean)],
      lo: [1, ...r.steps.map((s) => s.summary[method][measure].lo)],
      hi: [1, ...r.steps.map((s) => s.summary[method][measure].hi)],
      dashed: BASELINES.some((b) => b.name === method),
    })),
    options: {
      title: `${MEASURE_TITLES[measure]}, ${r.mode} randomisation`,
      subtitle: `${note}; mean and 95 % band over ${r.images} images`,
      xLabel: r.mode === 'cascading' ? 'randomised from the output down to' : 'the one layer randomised',
      yLabel: 'similarity',
      x: Array.from({ length: steps + 1 }, (_, k) => k),
      xTickLabels: ['none', ...r.steps.map((s) => s.layer)],
      yRange: [Math.min(-0.2, ...r.methods.flatMap((m) => r.steps.map((s) => s.summary[m][measure].lo))), 1] as [number, number],
    },
  };
}
