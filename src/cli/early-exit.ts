import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { observeExits, simulateEarlyExit, type EarlyExitResult } from '../e2cm/early-exit.js';
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
  --thresholds LIST  comma-separated confidence thresholds (default 0.5,0.6,0.7,0.8,0.9,0.95,0.99,1.01)
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
      thresholds: { type: 'string', default: '0.5,0.6,0.7,0.8,0.9,0.95,0.99,1.01' },
      out: { type: 'string', default: join('out', 'early-exit') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(EARLY_EXIT_HELP);
  if (!values.weights || !values.means || !values.data) throw new UsageError('early-exit needs --weights, --means and --data (see --help)');
  const thresholds = parseNumberList(values.thresholds!, '--thresholds');
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
    const results = thresholds.map((t) => simulateEarlyExit(obs, t));
    const note = `class means: ${means.source}; evaluation: ${set.description} images ${range.start}..${range.start + range.count - 1}`;
    const md = earlyExitMarkdown(model.info.architecture, obs.exits, results, note);
    console.log(md);
    await mkdir(values.out!, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(outputs[0], earlyExitCsv(obs.exits, results), { flag });
    await writeFile(outputs[1], JSON.stringify({ model: model.info.architecture, note, exits: obs.exits, costFraction: obs.costFraction, results }, null, 2), { flag });
    await writeFile(outputs[2], md, { flag });
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

export function earlyExitMarkdown(model: string, exits: string[], results: EarlyExitResult[], note: string): string {
  const rows = results.map((r) => `| ${r.threshold > 1 ? `${r.threshold} (never exits)` : r.threshold} | ${(r.accuracy * 100).toFixed(1)} % | ${(r.computeUsed * 100).toFixed(1)} % | ${r.exitCounts.join(' / ')} |`);
  return [
    `E2CM early exits, ${model} (${note})`,
    '',
    `| threshold | accuracy | compute used | exits per layer (${exits.length} exits / final) |`,
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function earlyExitCsv(exits: string[], results: EarlyExitResult[]): string {
  const header = ['threshold', 'accuracy', 'compute_used', ...exits.map((e) => `exit:${e}`), 'final'].join(',');
  return [header, ...results.map((r) => [r.threshold, r.accuracy, r.computeUsed, ...r.exitCounts].join(','))].join('\n') + '\n';
}
