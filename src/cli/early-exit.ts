import { writeFile } from 'node:fs/promises';
import { observeExits, simulateEarlyExit, type EarlyExitResult, type ExitObservations } from '../e2cm/early-exit.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { parseRange } from './data-range.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, DATA, FORCE, outDir, RANGE, WEIGHTS } from './common-options.js';
import { loadModelFile, MAX_WEIGHTS_BYTES } from './load-model.js';
import { Progress } from './progress.js';

export const EARLY_EXIT = defineCommand({
  name: 'early-exit',
  summary: 'E2CM early-exit accuracy against compute over a threshold sweep',
  usage: '--weights FILE --means FILE --data FILE|DIR [options]',
  description: `E2CM early-exit inference: each image exits at the first layer whose class-mean confidence passes the
threshold, predicting the nearest class mean. Prints accuracy against the fraction of compute used
over a sweep of thresholds, and writes it as CSV, JSON and Markdown.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    means: { type: 'file', required: true, help: 'class means from `layertracer class-means`' },
    data: { ...DATA, help: 'labelled evaluation images' },
    range: { ...RANGE, help: 'evaluate on images A..B-1 only (keep it disjoint from the class-means range)' },
    thresholds: {
      type: 'number-list',
      min: 0,
      help: `comma-separated confidence thresholds (default: a sweep from just above chance,
1/K + (1 - 1/K) q for q = 0.02 .. 0.8, plus 1.01 which never exits; with the
default temperature the confidences of a 10-class model rarely pass 0.5)`,
    },
    out: outDir('early-exit', 'where to write early-exit.{csv,json,md}'),
    force: FORCE,
  },
  async run(values, out) {
    const outputs = ['csv', 'json', 'md'].map((x) => `early-exit.${x}`);
    out.expect(outputs);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const means = classMeansFromFile(await readSafetensorsFile(values.means, { maxBytes: MAX_WEIGHTS_BYTES }));
      const set = await openLabelledSet(values.data);
      const range = parseRange(values.range, set.count);
      const progress = new Progress('early exit', range.count);
      const obs = await observeExits(model, means, set.batches(model.info, range), 50, (d) => progress.update(d));
      progress.done();
      const thresholds = values.thresholds ?? defaultThresholds(model.numClasses);
      for (const c of obs.confidence) assertFiniteResult(c, 'the E2CM confidences');
      const results = thresholds.map((t) => simulateEarlyExit(obs, t));
      const note = `class means: ${means.source}; evaluation: ${set.description} images ${range.start}..${range.start + range.count - 1}`;
      const md = `${earlyExitMarkdown(model.info.architecture, obs.exits, results, note)}\n${exitSummaryMarkdown(obs)}`;
      console.log(md);
      await writeFile(out.path(outputs[0]), earlyExitCsv(obs.exits, results), { flag: 'wx' });
      await writeFile(
        out.path(outputs[1]),
        JSON.stringify({ model: model.info.architecture, note, exits: obs.exits, costFraction: obs.costFraction, results }, null, 2),
        { flag: 'wx' },
      );
      await writeFile(out.path(outputs[2]), md, { flag: 'wx' });
      console.log(`wrote ${outputs.map((o) => out.final(o)).join(', ')}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EARLY_EXIT_HELP = EARLY_EXIT.help;
export const earlyExitCommand = (argv: string[]): Promise<void> => EARLY_EXIT.invoke(argv);

export function earlyExitMarkdown(model: string, exits: string[], results: EarlyExitResult[], note: string): string {
  const rows = results.map(
    (r) =>
      `| ${r.threshold > 1 ? `${r.threshold} (never exits)` : r.threshold} | ${(r.accuracy * 100).toFixed(1)} % | ${(r.computeUsed * 100).toFixed(1)} % | ${r.exitCounts.join(' / ')} |`,
  );
  return [
    `E2CM early exits, ${model} (${note})`,
    '',
    `| threshold | accuracy | compute used | exits per layer (${exits.length} exits / final) |`,
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** From just above chance (1/K) towards 1, then 1.01 (never exits: the final classifier). */
export function defaultThresholds(classes: number): number[] {
  const chance = 1 / classes;
  return [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8].map((q) => Number((chance + (1 - chance) * q).toFixed(3))).concat(1.01);
}

/** Per exit: its cost, how often its nearest class mean is right, and how confident it is. */
export function exitSummaryMarkdown(obs: ExitObservations): string {
  const n = obs.labels.length;
  const rows = obs.exits.map((layer, j) => {
    const correct = obs.nearest.filter((p, i) => p[j] === obs.labels[i]).length;
    const conf = obs.confidence.map((c) => c[j]).sort((a, b) => a - b);
    return `| ${layer} | ${(obs.costFraction[j] * 100).toFixed(1)} % | ${((correct / n) * 100).toFixed(1)} % | ${conf[Math.floor(n / 2)].toFixed(3)} |`;
  });
  const final = obs.finalPrediction.filter((p, i) => p === obs.labels[i]).length;
  return [
    '| exit | compute to here | nearest-class-mean accuracy | median confidence |',
    '|---|---|---|---|',
    ...rows,
    `| final classifier | 100 % | ${((final / n) * 100).toFixed(1)} % | |`,
    '',
  ].join('\n');
}

function earlyExitCsv(exits: string[], results: EarlyExitResult[]): string {
  const header = ['threshold', 'accuracy', 'compute_used', ...exits.map((e) => `exit:${e}`), 'final'].join(',');
  return [header, ...results.map((r) => [r.threshold, r.accuracy, r.computeUsed, ...r.exitCounts].join(','))].join('\n') + '\n';
}
