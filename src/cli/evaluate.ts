import { writeFile } from 'node:fs/promises';
import { openLabelledSet } from '../data/labelled-source.js';
import { acquireEngine } from '../gpu/acquire.js';
import { writePng } from '../image/encode-node.js';
import {
  evaluateMethods,
  meanCurves,
  summarise,
  type CausalMetric,
  type MethodEvaluation,
  type MethodSummary,
} from '../metrics/evaluation.js';
import { methodCost } from '../methods/cost.js';
import { BASELINES, METHODS, findMethod } from '../methods/registry.js';
import { lineChart, lineChartSvg } from '../report/line-plot.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, LAYER, outDir, RANGE, WEIGHTS } from './common-options.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { checkMethodOptions, METHOD_OPTIONS, methodRunOptions } from './method-options.js';
import { Progress } from './progress.js';
import { resolveRiseMasks, riseMaskOptions, riseMaskSetting } from './rise-masks-option.js';

/** Defaults sized so a first run on the README's 100 images finishes in reasonable time. */
const EVALUATE_STEPS = 32;
const EVALUATE_RISE_SECONDS = 3;

const ALL_METHOD_NAMES = [...METHODS, ...BASELINES].map((m) => m.name);

export const EVALUATE = defineCommand({
  name: 'evaluate',
  summary: 'insertion / deletion AUC of methods on a labelled set, with intervals and paired tests',
  usage: '--weights FILE --data FILE|DIR [options]',
  description: `Scores attribution methods with RISE's causal metrics: insertion AUC (higher is better: revealing the
most salient pixels first over a blurred copy recovers the class quickly) and deletion AUC (lower is
better: deleting them first destroys it quickly), on the softmax probability of each image's clean
top-1 class. Prints each method's mean with a 95 % bootstrap interval and, with --baseline, its paired
difference to that method (mean, 95 % interval, Wilcoxon signed-rank p-value). Writes
  evaluate.csv          one row per method: means, intervals, paired differences
  evaluate-images.csv   one row per method and image: both AUCs and the seconds it took
  evaluate.json         all of it, with every image's insertion and deletion curve
  insertion.png/.svg, deletion.png/.svg   mean curves with 95 % bands`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    data: DATA,
    range: { ...RANGE, default: '0:100' },
    methods: {
      type: 'string-list',
      arg: 'LIST',
      values: ['all', ...ALL_METHOD_NAMES],
      default: 'all',
      help: `comma-separated method names; all is every method; the model-free baselines
${BASELINES.map((m) => m.name).join(', ')} can be listed too (all,random)`,
    },
    baseline: {
      type: 'enum',
      arg: 'NAME',
      values: ALL_METHOD_NAMES,
      help: 'compare every method with this one, image by image (added to --methods if absent)',
    },
    layer: { ...LAYER, help: "layer for the CAM-family methods (default: the model's last conv stage)" },
    'pixels-per-step': {
      type: 'int',
      arg: 'N',
      min: 1,
      help: `pixels changed per step (default ceil(H*W/${EVALUATE_STEPS}): ${EVALUATE_STEPS} steps; the RISE paper changes
224 pixels per step at 224x224, i.e. 224 steps)`,
    },
    batch: batchOption(64, 'step images per forward pass'),
    resamples: { type: 'int', arg: 'N', min: 1, max: 1_000_000, default: 10_000, help: 'bootstrap resamples for the intervals' },
    ...METHOD_OPTIONS,
    ...riseMaskOptions(EVALUATE_RISE_SECONDS, 'masks for RISE when evaluated (measured once, then fixed for every image)'),
    out: outDir('evaluate'),
    force: FORCE,
  },
  async run(values, out) {
    // `all` expands to every method, also inside a list (all,random).
    const names = [...new Set(values.methods.flatMap((n) => (n === 'all' ? METHODS.map((m) => m.name) : [n])))];
    if (values.baseline && !names.includes(values.baseline)) names.push(values.baseline);
    const methods = names.map(findMethod);
    const runOptions = methodRunOptions({ ...values, 'rise-masks': undefined });
    const outputs = [
      'evaluate.csv',
      'evaluate-images.csv',
      'evaluate.json',
      'insertion.png',
      'insertion.svg',
      'deletion.png',
      'deletion.svg',
    ];
    out.expect(outputs);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      checkMethodOptions(model, runOptions);
      if (values.layer) model.assertLayer(values.layer);
      const usable = methods.filter((m) => !m.supports || m.supports(model));
      const skipped = methods.filter((m) => !usable.includes(m)).map((m) => m.name);
      if (values.baseline && skipped.includes(values.baseline))
        throw new UsageError(`--baseline ${values.baseline} does not apply to ${model.info.architecture}`);
      const [h, w] = model.info.inputSize;
      const pixelsPerStep = values['pixels-per-step'] ?? Math.ceil((h * w) / EVALUATE_STEPS);
      const riseMasks = usable.some((m) => m.name === 'rise')
        ? await resolveRiseMasks(model, riseMaskSetting(values['rise-masks'], values['rise-seconds']))
        : undefined;
      if (riseMasks) runOptions.masks = riseMasks;
      const note =
        `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}; ` +
        `${pixelsPerStep} pixels per step${riseMasks ? `, RISE ${riseMasks} masks` : ''}`;
      // Every (image, method) step: the method, then its insertion and deletion passes (a forward pass of
      // a step image costs about 0.3 of a forward + backward); measured times predict the rest.
      const metricPasses = 0.3 * ((2 * h * w) / pixelsPerStep);
      const progress = new Progress(
        'evaluate',
        Array.from({ length: range.count }, () =>
          usable.map((m) => ({ kind: m.name, cost: methodCost(m.name, runOptions) + metricPasses })),
        ).flat(),
      );
      const results = await evaluateMethods(model, set.batches(model.info, range), usable, {
        pixelsPerStep,
        batchSize: values.batch,
        firstImage: range.start,
        runOptions: { ...runOptions, ...(values.layer ? { layer: values.layer } : {}) },
        onStep: (done, _total, name) => progress.update(done, name),
        // A long run shows its running means every 10 images, so an interrupted run is not wasted.
        onImage: (done, partial) => {
          if (done % 10 === 0 && done < range.count)
            console.log(
              `\n${scoreTable(summarise(partial, { baseline: values.baseline, resamples: 200 }), `${note}; first ${done} images`)}`,
            );
        },
      });
      progress.done();
      const summary = summarise(results, { baseline: values.baseline, resamples: values.resamples });
      for (const s of summary) assertFiniteResult([s.insertion.mean, s.deletion.mean], `the ${s.method} scores`);
      console.log(scoreTable(summary, note));
      if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.join(', ')}`);
      await writeFile(out.path(outputs[0]), summaryCsv(summary), { flag: 'wx' });
      await writeFile(out.path(outputs[1]), imagesCsv(results), { flag: 'wx' });
      const settings = {
        pixelsPerStep,
        batchSize: values.batch,
        resamples: values.resamples,
        layer: values.layer,
        baseline: values.baseline,
        methodOptions: runOptions,
      };
      await writeFile(out.path(outputs[2]), JSON.stringify({ note, settings, summary, perMethod: results }, null, 2), { flag: 'wx' });
      for (const [k, metric] of (['insertion', 'deletion'] as CausalMetric[]).entries()) {
        const chart = curveChart(results, metric, note);
        await writePng(out.path(outputs[3 + 2 * k]), lineChart(chart.series, chart.options));
        await writeFile(out.path(outputs[4 + 2 * k]), lineChartSvg(chart.series, chart.options), { flag: 'wx' });
      }
      console.log(`wrote ${outputs.map((o) => out.final(o)).join(', ')}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EVALUATE_HELP = EVALUATE.help;
export const evaluateCommand = (argv: string[]): Promise<void> => EVALUATE.invoke(argv);

const ci = (v: { mean: number; lo: number; hi: number }, digits = 4) =>
  `${v.mean.toFixed(digits)} [${v.lo.toFixed(digits)}, ${v.hi.toFixed(digits)}]`;
const pValue = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

export function scoreTable(rows: readonly MethodSummary[], note: string): string {
  const versus = rows.find((r) => r.versus)?.versus?.insertion.baseline;
  const head = versus
    ? `| method | insertion AUC (higher better) | deletion AUC (lower better) | insertion - ${versus} (p) | deletion - ${versus} (p) | seconds |`
    : '| method | insertion AUC (higher better) | deletion AUC (lower better) | seconds |';
  const line = (r: MethodSummary) => {
    const cells = [r.method, ci(r.insertion), ci(r.deletion)];
    if (versus) {
      for (const metric of ['insertion', 'deletion'] as const) {
        const v = r.versus?.[metric];
        cells.push(v ? `${ci(v.difference)} (p ${pValue(v.test.p)})` : 'baseline');
      }
    }
    cells.push(r.seconds.toFixed(1));
    return `| ${cells.join(' | ')} |`;
  };
  return [
    `Insertion / deletion AUC (${note}; mean [95 % bootstrap interval] over images${versus ? `; paired differences with Wilcoxon signed-rank p` : ''})`,
    '',
    head,
    `|${head
      .split('|')
      .slice(1, -1)
      .map(() => '---')
      .join('|')}|`,
    ...rows.map(line),
    '',
  ].join('\n');
}

function summaryCsv(rows: readonly MethodSummary[]): string {
  const header = [
    'method,layer,images,insertion_auc,insertion_lo,insertion_hi,deletion_auc,deletion_lo,deletion_hi,seconds',
    'baseline,insertion_diff,insertion_diff_lo,insertion_diff_hi,insertion_p,deletion_diff,deletion_diff_lo,deletion_diff_hi,deletion_p',
  ].join(',');
  const lines = rows.map((r) => {
    const cells: (string | number)[] = [r.method, r.layer ?? '', r.images, r.insertion.mean, r.insertion.lo, r.insertion.hi];
    cells.push(r.deletion.mean, r.deletion.lo, r.deletion.hi, r.seconds);
    const i = r.versus?.insertion;
    const d = r.versus?.deletion;
    cells.push(i?.baseline ?? '', i?.difference.mean ?? '', i?.difference.lo ?? '', i?.difference.hi ?? '', i?.test.p ?? '');
    cells.push(d?.difference.mean ?? '', d?.difference.lo ?? '', d?.difference.hi ?? '', d?.test.p ?? '');
    return cells.join(',');
  });
  return `${[header, ...lines].join('\n')}\n`;
}

function imagesCsv(results: readonly MethodEvaluation[]): string {
  const lines = results.flatMap((r) =>
    r.perImage.map((s) => `${r.method},${s.image},${s.target},${s.insertion},${s.deletion},${s.seconds}`),
  );
  return `${['method,image,target,insertion_auc,deletion_auc,seconds', ...lines].join('\n')}\n`;
}

function curveChart(results: readonly MethodEvaluation[], metric: CausalMetric, note: string) {
  const curves = meanCurves(results, metric);
  const steps = curves[0]?.y.length ?? 0;
  return {
    series: curves.map((c) => ({ name: c.method, y: c.y, lo: c.lo, hi: c.hi, dashed: BASELINES.some((b) => b.name === c.method) })),
    options: {
      title: `${metric === 'insertion' ? 'Insertion' : 'Deletion'} curves (mean, 95 % band)`,
      subtitle: note,
      xLabel: `fraction of pixels ${metric === 'insertion' ? 'revealed' : 'deleted'}`,
      yLabel: 'p(class)',
      x: Array.from({ length: steps }, (_, k) => k / Math.max(1, steps - 1)),
      yRange: [0, 1] as [number, number],
    },
  };
}
