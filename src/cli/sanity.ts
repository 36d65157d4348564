import { writeFile } from 'node:fs/promises';
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
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, LAYER, outDir, RANGE, WEIGHTS } from './common-options.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { checkMethodOptions, METHOD_OPTIONS, methodRunOptions } from './method-options.js';
import { Progress } from './progress.js';

const ALL_METHOD_NAMES = [...METHODS, ...BASELINES].map((m) => m.name);

export const SANITY = defineCommand({
  name: 'sanity',
  summary: 'model-parameter randomisation sanity check of methods (tables, JSON, curves)',
  usage: '--weights FILE --data FILE|DIR [options]',
  description: `The model-parameter randomisation test (Adebayo et al. 2018): the model's layers are replaced, from the
output back, by random ones with the same mean and spread (cascading: one more layer each step;
independent: one layer at a time), every map is recomputed for the same images and classes, and
compared with the trained model's map by Spearman rank correlation (absolute: of |map|; signed: of the
raw signed values), SSIM and HOG similarity. A method that explains the model falls towards 0; one that
only shows the image (the edge detector here) stays at 1. The loaded weights are never modified.
Writes sanity.md (tables), sanity.json (every image's scores) and one curve per mode and measure
(sanity-MODE-MEASURE.png / .svg). --seed seeds the random parameters and the methods' own noise.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    data: DATA,
    range: { ...RANGE, default: '0:20', help: 'images A..B-1' },
    methods: {
      type: 'string-list',
      arg: 'LIST',
      values: ALL_METHOD_NAMES,
      default: 'grad-cam,guided-backprop,saliency,edge',
      help: `comma-separated; any of ${ALL_METHOD_NAMES.join(', ')}`,
    },
    mode: { type: 'enum', values: ['cascading', 'independent', 'both'], default: 'cascading', help: 'which randomisation' },
    granularity: {
      type: 'enum',
      values: ['block', 'module'],
      default: 'block',
      help: 'block: a residual block, or a conv with its batch-norm; module: every parameterised module',
    },
    target: {
      type: 'enum',
      values: ['label', 'top1'],
      default: 'label',
      help: "the class every map explains: the image's label or the trained model's top-1; the same at every step",
    },
    layer: { ...LAYER, help: "layer for the CAM-family methods (default: the model's last conv stage)" },
    batch: batchOption(16, 'images per batch'),
    resamples: { type: 'int', arg: 'N', min: 1, max: 1_000_000, default: 2000, help: 'bootstrap resamples for the 95 % intervals' },
    ...METHOD_OPTIONS,
    out: outDir('sanity'),
    force: FORCE,
  },
  async run(values, out) {
    const methods = values.methods.map((s) => findMethod(s));
    const modes = values.mode === 'both' ? (['cascading', 'independent'] as const) : ([values.mode] as const);
    const runOptions = methodRunOptions(values);
    const files = [
      'sanity.md',
      'sanity.json',
      ...modes.flatMap((mode) => SIMILARITY_MEASURES.flatMap((m) => [`sanity-${mode}-${m}.png`, `sanity-${mode}-${m}.svg`])),
    ];
    out.expect(files);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      checkMethodOptions(model, runOptions);
      if (values.layer) model.assertLayer(values.layer);
      const refused = methods.filter((m) => m.supports && !m.supports(model));
      if (refused.length) throw new UsageError(`${refused.map((m) => m.name).join(', ')} do(es) not apply to ${model.info.architecture}`);
      const note = `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}`;
      const results: SanityResult[] = [];
      for (const mode of modes) {
        const steps = randomisableLayers(model, values.granularity).length + 1;
        const progress = new Progress(`sanity (${mode})`, range.count * methods.length * steps);
        results.push(
          await modelRandomisationTest(model, set.batches(model.info, range), methods, {
            mode,
            granularity: values.granularity,
            seed: runOptions.seed,
            target: values.target,
            batchSize: values.batch,
            resamples: values.resamples,
            runOptions: { ...runOptions, ...(values.layer ? { layer: values.layer } : {}) },
            onProgress: (done, _total, what) => progress.update(done, what),
          }),
        );
        progress.done();
      }
      const tables = results.map((r) => sanityTables(r, note)).join('\n');
      console.log(tables);
      await writeFile(out.path(files[0]), tables, { flag: 'wx' });
      await writeFile(out.path(files[1]), JSON.stringify({ note, runOptions, results }, null, 2), { flag: 'wx' });
      let k = 2;
      for (const r of results) {
        for (const measure of SIMILARITY_MEASURES) {
          const chart = sanityChart(r, measure, note);
          await writePng(out.path(files[k++]), lineChart(chart.series, chart.options));
          await writeFile(out.path(files[k++]), lineChartSvg(chart.series, chart.options), { flag: 'wx' });
        }
      }
      console.log(`wrote ${files.length} files in ${out.final()}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const SANITY_HELP = SANITY.help;
export const sanityCommand = (argv: string[]): Promise<void> => SANITY.invoke(argv);

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
