import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { calibrationNote, splitsOverlap, type DataSplit } from '../e2cm/class-means.js';
import { observeExits } from '../e2cm/early-exit.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { earlyExitReport, eceFloors, type EarlyExitReport } from '../e2cm/report.js';
import { THRESHOLD_GRID } from '../e2cm/thresholds.js';
import { acquireEngine } from '../gpu/acquire.js';
import { openLabelledSet } from '../data/labelled-source.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { FALLBACK_THRESHOLD } from '../e2cm/exit-decisions.js';
import { parseRange } from './data-range.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, DATA, FORCE, outDir, RANGE, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile, MAX_WEIGHTS_BYTES } from './load-model.js';
import { Progress } from './progress.js';

export const EARLY_EXIT = defineCommand({
  name: 'early-exit',
  summary: 'E2CM early exits: calibrated per-exit thresholds against a single-threshold sweep',
  usage: '--weights FILE --means FILE --data FILE|DIR [options]',
  description: `E2CM early-exit inference, evaluated on images the class means were neither computed nor calibrated
on: each image exits at the first exit whose calibrated confidence passes that exit's threshold,
predicting the class of highest confidence there; the others use the final classifier. Reports per
exit the nearest-class-mean accuracy, NLL and ECE (15 bins); accuracy and compute with the calibrated
per-exit thresholds; and a sweep of single thresholds (the same at every exit) for comparison.
Writes early-exit.md, early-exit.csv (the sweep) and early-exit.json (exits, perExit, singleThreshold,
finalAccuracy).`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    means: { type: 'file', required: true, help: 'class means from `layertracer class-means` (calibrated: --calibrate-range)' },
    data: { ...DATA, help: 'labelled evaluation images' },
    range: { ...RANGE, help: "evaluate on images A..B-1 only (must not overlap the means' or calibration images)" },
    thresholds: {
      type: 'number-list',
      min: 0,
      help: `single thresholds to sweep (default ${THRESHOLD_GRID.join(',')})`,
    },
    json: { type: 'out-file', arg: 'FILE', help: 'also write the numbers as JSON here (exits, perExit, singleThreshold, finalAccuracy)' },
    out: outDir('early-exit', 'where to write early-exit.{md,csv,json}'),
    force: FORCE,
  },
  async run(values, out, extra) {
    const outputs = ['md', 'csv', 'json'].map((x) => `early-exit.${x}`);
    out.expect(outputs);
    const sweep = values.thresholds ?? THRESHOLD_GRID;
    const means = classMeansFromFile(await readSafetensorsFile(values.means, { maxBytes: MAX_WEIGHTS_BYTES }));
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
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const progress = new Progress('early exit', range.count);
      const obs = await observeExits(model, means, set.batches(model.info, range), 50, (d) => progress.update(d));
      progress.done();
      const report = earlyExitReport(obs, means, FALLBACK_THRESHOLD, sweep);
      const where = `class means: ${means.source}; calibration: ${means.calibration?.source ?? 'none'}; evaluation: ${set.description} images ${range.start}..${range.start + range.count - 1}`;
      const md = earlyExitMarkdown(model.info.architecture, report, eceFloors(obs, means), where);
      console.log(md);
      await writeFile(out.path(outputs[0]), md, { flag: 'wx' });
      await writeFile(out.path(outputs[1]), sweepCsv(report), { flag: 'wx' });
      const json = JSON.stringify(report, null, 2) + '\n';
      await writeFile(out.path(outputs[2]), json, { flag: 'wx' });
      if (extra.json) await writeFile(extra.json.file, json, { flag: 'wx' });
      console.log(`wrote ${[...outputs.map((o) => out.final(o)), ...(extra.json ? [extra.json.final()] : [])].join(', ')}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EARLY_EXIT_HELP = EARLY_EXIT.help;
export const earlyExitCommand = (argv: string[]): Promise<void> => EARLY_EXIT.invoke(argv);

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
