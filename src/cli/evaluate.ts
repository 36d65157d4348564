import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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
import { BASELINES, METHODS, findMethod } from '../methods/registry.js';
import { lineChart, lineChartSvg } from '../report/line-plot.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { checkMethodOptions, METHOD_OPTION_FLAGS, METHOD_OPTIONS_HELP, parseMethodOptions } from './method-options.js';
import { Progress } from './progress.js';

export const EVALUATE_HELP = `layertracer evaluate --weights FILE --data FILE|DIR [options]

Scores attribution methods with RISE's causal metrics: insertion AUC (higher is better: revealing the
most salient pixels first over a blurred copy recovers the class quickly) and deletion AUC (lower is
better: deleting them first destroys it quickly), on the softmax probability of each image's clean
top-1 class. Prints each method's mean with a 95 % bootstrap interval and, with --baseline, its paired
difference to that method (mean, 95 % interval, Wilcoxon signed-rank p-value). Writes
  evaluate.csv          one row per method: means, intervals, paired differences
  evaluate-images.csv   one row per method and image: both AUCs and the seconds it took
  evaluate.json         all of it, with every image's insertion and deletion curve
  insertion.png/.svg, deletion.png/.svg   mean curves with 95 % bands

  --weights FILE         model weights
  --data FILE|DIR        labelled images (safetensors or a folder per class)
  --range A:B            images A..B-1 (default 0:100)
  --methods LIST         comma-separated method names; all (default) is every method; the model-free
                         baselines ${BASELINES.map((m) => m.name).join(', ')} can be listed too (all,random)
  --baseline NAME        compare every method with this one, image by image (added to --methods if absent)
  --layer NAME           layer for the CAM-family methods (default: the model's last conv stage)
  --pixels-per-step N    pixels changed per step (default ceil(H*W/224): 224 steps)
  --batch N              step images per forward pass (default 32)
  --resamples N          bootstrap resamples for the intervals (default 10000)
  --out DIR              default out/evaluate
  --force                overwrite existing outputs

${METHOD_OPTIONS_HELP}`;

export async function evaluateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      range: { type: 'string', default: '0:100' },
      methods: { type: 'string', default: 'all' },
      baseline: { type: 'string' },
      layer: { type: 'string' },
      'pixels-per-step': { type: 'string' },
      batch: { type: 'string', default: '32' },
      resamples: { type: 'string', default: '10000' },
      ...METHOD_OPTION_FLAGS,
      out: { type: 'string', default: join('out', 'evaluate') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(EVALUATE_HELP);
  if (!values.weights || !values.data) throw new UsageError('evaluate needs --weights and --data (see --help)');
  // `all` expands to every method, also inside a list (all,random).
  const names = [
    ...new Set(
      values
        .methods!.split(',')
        .map((s) => s.trim())
        .flatMap((n) => (n === 'all' ? METHODS.map((m) => m.name) : [n])),
    ),
  ];
  if (values.baseline && !names.includes(values.baseline)) names.push(values.baseline);
  const methods = names.map(findMethod);
  const positive = (flag: string, text: string | undefined) => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
    return v;
  };
  const batchSize = positive('batch', values.batch);
  const resamples = positive('resamples', values.resamples);
  const pixelsPerStep = values['pixels-per-step'] === undefined ? undefined : positive('pixels-per-step', values['pixels-per-step']);
  const runOptions = parseMethodOptions(values);
  const out = values.out!;
  const outputs = [
    'evaluate.csv',
    'evaluate-images.csv',
    'evaluate.json',
    'insertion.png',
    'insertion.svg',
    'deletion.png',
    'deletion.svg',
  ].map((f) => join(out, f));
  if (!values.force && outputs.some(existsSync)) throw new UsageError(`${out} already holds evaluate outputs; pass --force to overwrite`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    checkMethodOptions(model, runOptions);
    if (values.layer) model.assertLayer(values.layer);
    const usable = methods.filter((m) => !m.supports || m.supports(model));
    const skipped = methods.filter((m) => !usable.includes(m)).map((m) => m.name);
    if (values.baseline && skipped.includes(values.baseline))
      throw new UsageError(`--baseline ${values.baseline} does not apply to ${model.info.architecture}`);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const note = `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}`;
    const progress = new Progress('evaluate', range.count * usable.length);
    const results = await evaluateMethods(model, set.batches(model.info, range), usable, {
      pixelsPerStep,
      batchSize,
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
    const summary = summarise(results, { baseline: values.baseline, resamples });
    console.log(scoreTable(summary, note));
    if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.join(', ')}`);
    await mkdir(out, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(outputs[0], summaryCsv(summary), { flag });
    await writeFile(outputs[1], imagesCsv(results), { flag });
    const settings = {
      pixelsPerStep: pixelsPerStep ?? 'ceil(H*W/224)',
      batchSize,
      resamples,
      layer: values.layer,
      baseline: values.baseline,
      methodOptions: runOptions,
    };
    await writeFile(outputs[2], JSON.stringify({ note, settings, summary, perMethod: results }, null, 2), { flag });
    for (const [k, metric] of (['insertion', 'deletion'] as CausalMetric[]).entries()) {
      const chart = curveChart(results, metric, note);
      await writePng(outputs[3 + 2 * k], lineChart(chart.series, chart.options), { force: values.force });
      await writeFile(outputs[4 + 2 * k], lineChartSvg(chart.series, chart.options), { flag });
    }
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

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
