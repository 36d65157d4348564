import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { observeExits, simulateEarlyExit, type EarlyExitResult, type ExitObservations } from '../e2cm/early-exit.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { parseNumberList, parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const EARLY_EXIT_HELP = `layertracer early-exit --weights FILE --means FILE --data FILE|DIR [options]

E2CM early-exit inference: each image exits at the first layer whose class-mean confidence passes the
threshold, predicting the nearest class mean. Prints accuracy against the fraction of compute used
over a sweep of thresholds, and writes it as CSV, JSON and Markdown.

  --weights FILE     model weights
  --means FILE       class means from \`layertracer class-means\`
  --data FILE|DIR    labelled evaluation images
  --range A:B        evaluate on images A..B-1 only (keep it disjoint from the class-means range)
  --thresholds LIST  comma-separated confidence thresholds (default: a sweep from just above chance,
                     1/K + (1 - 1/K) q for q = 0.02 .. 0.8, plus 1.01 which never exits; with the
                     default temperature the confidences of a 10-class model rarely pass 0.5)
  --out DIR          where to write early-exit.{csv,json,md} (default out/early-exit)
  --force            overwrite existing outputs
`;

export async function earlyExitCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      means: { type: 'string' },
      data: { type: 'string' },
      range: { type: 'string' },
      thresholds: { type: 'string' },
      out: { type: 'string', default: join('out', 'early-exit') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(EARLY_EXIT_HELP);
  if (!values.weights || !values.means || !values.data) throw new UsageError('early-exit needs --weights, --means and --data (see --help)');
  const outputs = ['csv', 'json', 'md'].map((x) => join(values.out!, `early-exit.${x}`));
  if (!values.force && outputs.some(existsSync)) throw new UsageError(`${values.out}/early-exit.* exist; pass --force to overwrite`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const means = classMeansFromFile(await readSafetensorsFile(values.means));
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const progress = new Progress('early exit', range.count);
    const obs = await observeExits(model, means, set.batches(model.info, range), 50, (d) => progress.update(d));
    progress.done();
    const thresholds = values.thresholds ? parseNumberList(values.thresholds, '--thresholds') : defaultThresholds(model.numClasses);
    const results = thresholds.map((t) => simulateEarlyExit(obs, t));
    const note = `class means: ${means.source}; evaluation: ${set.description} images ${range.start}..${range.start + range.count - 1}`;
    const md = `${earlyExitMarkdown(model.info.architecture, obs.exits, results, note)}\n${exitSummaryMarkdown(obs)}`;
    console.log(md);
    await mkdir(values.out!, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(outputs[0], earlyExitCsv(obs.exits, results), { flag });
    await writeFile(
      outputs[1],
      JSON.stringify({ model: model.info.architecture, note, exits: obs.exits, costFraction: obs.costFraction, results }, null, 2),
      { flag },
    );
    await writeFile(outputs[2], md, { flag });
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

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
