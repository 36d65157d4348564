import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrationNote, splitsOverlap, type DataSplit } from '../e2cm/class-means.js';
import { observeExits } from '../e2cm/early-exit.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { earlyExitReport, eceFloors, type EarlyExitReport } from '../e2cm/report.js';
import { THRESHOLD_GRID } from '../e2cm/thresholds.js';
import { acquireEngine } from '../gpu/acquire.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { FALLBACK_THRESHOLD } from '../methods/layertracer.js';
import { parseNumberList, parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const EARLY_EXIT_HELP = `layertracer early-exit --weights FILE --means FILE --data FILE|DIR [options]

E2CM early-exit inference, evaluated on images the class means were neither computed nor calibrated
on: each image exits at the first exit whose calibrated confidence passes that exit's threshold,
predicting the class of highest confidence there; the others use the final classifier. Reports per
exit the nearest-class-mean accuracy, NLL and ECE (15 bins); accuracy and compute with the calibrated
per-exit thresholds; and a sweep of single thresholds (the same at every exit) for comparison.

  --weights FILE     model weights
  --means FILE       class means from \`layertracer class-means\` (calibrated: --calibrate-range)
  --data FILE|DIR    labelled evaluation images
  --range A:B        evaluate on images A..B-1 only (must not overlap the means' or calibration images)
  --thresholds LIST  single thresholds to sweep (default ${THRESHOLD_GRID.join(',')})
  --json FILE        write the numbers as JSON: exits, perExit, singleThreshold, finalAccuracy
  --out DIR          where to write early-exit.md and early-exit.csv (default out/early-exit)
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
      json: { type: 'string' },
      out: { type: 'string', default: join('out', 'early-exit') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(EARLY_EXIT_HELP);
  if (!values.weights || !values.means || !values.data) throw new UsageError('early-exit needs --weights, --means and --data (see --help)');
  const outputs = ['md', 'csv'].map((x) => join(values.out!, `early-exit.${x}`));
  if (values.json) outputs.push(values.json);
  if (!values.force && outputs.some(existsSync))
    throw new UsageError(`${outputs.filter(existsSync).join(', ')} exist; pass --force to overwrite`);
  const sweep = values.thresholds ? parseNumberList(values.thresholds, '--thresholds') : THRESHOLD_GRID;
  const means = classMeansFromFile(await readSafetensorsFile(values.means));
  const set = await openLabelledSet(values.data);
  const range = parseRange(values.range, set.count);
  const split: DataSplit = { data: resolve(values.data), ...range };
  for (const [what, used] of [
    ['computed', means.split],
    ['calibrated', means.calibration?.split ?? null],
  ] as const) {
    if (splitsOverlap(split, used)) {
      throw new UsageError(
        `evaluation images ${range.start}..${range.start + range.count - 1} overlap the images the class means were ${what} on (${used!.start}..${used!.start + used!.count - 1}); choose a disjoint --range`,
      );
    }
  }
  const note = calibrationNote(means);
  if (note) console.log(`note: ${note}`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const progress = new Progress('early exit', range.count);
    const obs = await observeExits(model, means, set.batches(model.info, range), 50, (d) => progress.update(d));
    progress.done();
    const report = earlyExitReport(obs, means, FALLBACK_THRESHOLD, sweep);
    const where = `class means: ${means.source}; calibration: ${means.calibration?.source ?? 'none'}; evaluation: ${set.description} images ${range.start}..${range.start + range.count - 1}`;
    const md = earlyExitMarkdown(model.info.architecture, report, eceFloors(obs, means), where);
    console.log(md);
    await mkdir(values.out!, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(outputs[0], md, { flag });
    await writeFile(outputs[1], sweepCsv(report), { flag });
    if (values.json) {
      await mkdir(dirname(values.json), { recursive: true });
      await writeFile(values.json, JSON.stringify(report, null, 2) + '\n', { flag });
    }
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const shown = (t: number | null) => (t === null ? 'never' : String(t));

export function earlyExitMarkdown(model: string, r: EarlyExitReport, floors: number[], where: string): string {
  const exitRows = r.exits.map(
    (x, j) =>
      `| ${x.layer} | ${pct(x.computeFraction)} | ${pct(x.accuracy)} | ${x.temperature.toPrecision(3)} | ${x.nll.toFixed(3)} | ${x.ece.toFixed(3)} | ${floors[j].toFixed(3)} | ${shown(x.threshold)} |`,
  );
  const sweepRows = r.singleThreshold.map(
    (s) =>
      `| ${shown(s.threshold)}${s.chosen ? ' (chosen on calibration)' : ''} | ${pct(s.accuracy)} | ${pct(s.computeFraction)} | ${s.exitCounts.join(' / ')} |`,
  );
  return [
    `E2CM early exits, ${model} (${where})`,
    '',
    '| exit | compute to leave here | nearest-class-mean accuracy | temperature | NLL | ECE (15 bins) | ECE if perfectly calibrated | threshold |',
    '|---|---|---|---|---|---|---|---|',
    ...exitRows,
    '',
    `Final classifier: ${pct(r.finalAccuracy)} at 100 % compute. Calibrated per-exit thresholds: ${pct(r.perExit.accuracy)} at ${pct(r.perExit.computeFraction)} of the compute; images per exit (then final) ${r.perExit.exitCounts.join(' / ')}.`,
    '',
    '| single threshold | accuracy | compute used | images per exit / final |',
    '|---|---|---|---|',
    ...sweepRows,
    '',
  ].join('\n');
}

function sweepCsv(r: EarlyExitReport): string {
  const header = ['threshold', 'accuracy', 'compute_fraction', ...r.exits.map((e) => `exit:${e.layer}`), 'final'].join(',');
  const rows = [
    ['per-exit', r.perExit.accuracy, r.perExit.computeFraction, ...r.perExit.exitCounts],
    ...r.singleThreshold.map((s) => [shown(s.threshold), s.accuracy, s.computeFraction, ...s.exitCounts]),
  ];
  return [header, ...rows.map((row) => row.join(','))].join('\n') + '\n';
}
