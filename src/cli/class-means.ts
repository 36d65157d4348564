import { resolve } from 'node:path';
import { calibrateClassMeans } from '../e2cm/calibrate.js';
import { computeClassMeans, splitsOverlap, type ClassMeans, type DataSplit } from '../e2cm/class-means.js';
import { classMeansToTensors } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Model } from '../graph/model.js';
import { hasClassNames } from '../graph/model-info.js';
import { openLabelledSet, type LabelledSet } from '../data/labelled-source.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { parseRange } from './data-range.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, RANGE, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export const CLASS_MEANS = defineCommand({
  name: 'class-means',
  summary: 'E2CM class means at every exit from a labelled set, calibrated on a held-out split',
  usage: '--weights FILE --data FILE|DIR --out FILE [options]',
  description: `Computes E2CM class means at every exit (after the stem and after every residual block / VGG stage)
from a labelled image set, with each class's distance scale (the mean distance of its images to their
class mean; distances are divided by it). With a calibration split it then fits one temperature per
exit (confidence = softmax(-d~/T), T minimising the NLL) and searches per-exit exit thresholds that
save the most compute while neither changing more than --max-accuracy-drop of the final classifier's
answers nor, by the calibrated confidences, expecting more than that many wrong; they become the
defaults of early-exit, trace and the demo. Saves everything as safetensors.
Without --calibrate-range / --calibrate-data the means are uncalibrated (temperature 1, no thresholds).`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    data: DATA,
    range: { ...RANGE, help: 'compute the means from images A..B-1 only (e.g. 0:500)' },
    'calibrate-range': {
      ...RANGE,
      help: 'calibrate on images A..B-1 (of --calibrate-data, else of --data: then disjoint from --range)',
    },
    'calibrate-data': { type: 'file-or-dir', help: 'a separate labelled set to calibrate on' },
    'max-accuracy-drop': {
      type: 'number',
      arg: 'P',
      min: 0,
      max: 100,
      default: 1,
      help: 'accuracy the exit thresholds may lose on the calibration split, in points',
    },
    mode: {
      type: 'enum',
      values: ['gap', 'full'],
      default: 'gap',
      help: 'feature per exit: global-average-pooled channels or the full C*H*W tensor',
    },
    exits: { type: 'string-list', arg: 'L1,L2', help: "exit layers (default: the model's standard exits)" },
    batch: batchOption(50),
    out: { type: 'out-file', required: true, help: 'output .safetensors' },
    force: { ...FORCE, help: 'overwrite --out' },
  },
  async run(values, out) {
    // Every data set and range is checked before the model is loaded or anything is computed.
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const split: DataSplit = { data: resolve(values.data), ...range };
    let calibration: { set: LabelledSet; split: DataSplit } | null = null;
    if (values['calibrate-range'] !== undefined || values['calibrate-data'] !== undefined) {
      const path = values['calibrate-data'] ?? values.data;
      const calSet = path === values.data ? set : await openLabelledSet(path);
      const calRange = parseRange(values['calibrate-range'], calSet.count, '--calibrate-range');
      const calSplit = { data: resolve(path), ...calRange };
      if (splitsOverlap(split, calSplit)) {
        throw new UsageError(
          `--calibrate-range ${calRange.start}:${calRange.start + calRange.count} overlaps the images the means come from (--range ${range.start}:${range.start + range.count}); calibrate on held-out images`,
        );
      }
      calibration = { set: calSet, split: calSplit };
    }

    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      assertSameClasses(set, model, values.data);
      if (calibration) assertSameClasses(calibration.set, model, values['calibrate-data'] ?? values.data);
      const progress = new Progress('class means', range.count * 2 + (calibration?.split.count ?? 0));
      let means = await computeClassMeans(model, set.batches(model.info, range), {
        exits: values.exits,
        mode: values.mode,
        batchSize: values.batch,
        source: describe(set, range),
        split,
        onProgress: (done, total, pass) => progress.update(pass === 'means' ? done : total + done, pass),
      });
      if (calibration) {
        const { set: calSet, split: calSplit } = calibration;
        means = await calibrateClassMeans(model, means, calSet.batches(model.info, calSplit), {
          maxAccuracyDrop: values['max-accuracy-drop'] / 100,
          source: describe(calSet, calSplit),
          split: calSplit,
          batchSize: values.batch,
          onProgress: (done) => progress.update(range.count * 2 + done, 'calibration'),
        });
      }
      progress.done();
      for (const l of means.exits) assertFiniteResult(means.means.get(l)!, `the class means at ${l}`);
      assertFiniteResult([...means.temperatures.values()], 'the temperatures');
      const { tensors, metadata } = classMeansToTensors(means);
      await writeSafetensorsFile(out.file, tensors, metadata);
      console.log(calibrationReport(means));
      console.log(`wrote ${out.final()}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const CLASS_MEANS_HELP = CLASS_MEANS.help;
export const classMeansCommand = (argv: string[]): Promise<void> => CLASS_MEANS.invoke(argv);

function describe(set: LabelledSet, range: { start: number; count: number }): string {
  return `${set.description} images ${range.start}..${range.start + range.count - 1}`;
}

// Labels are class indices: a set that names its classes differently from the model's named
// classes would put every image under the wrong mean. Unnamed models cannot be checked.
function assertSameClasses(set: LabelledSet, model: Model, path: string): void {
  if (set.classes.length && hasClassNames(model.info) && set.classes.join('\n') !== model.info.classes.join('\n')) {
    throw new UsageError(
      `${path} names its classes [${set.classes.join(', ')}] but the model's are [${model.info.classes.join(', ')}]; give images labelled for this model`,
    );
  }
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const threshold = (t: number) => (Number.isFinite(t) ? String(t) : 'never');

/** What was fitted, as Markdown: per exit before / after calibration, then the chosen thresholds. */
export function calibrationReport(means: ClassMeans): string {
  const c = means.calibration;
  if (!c)
    return `exits: ${means.exits.join(', ')}\nnote: uncalibrated (temperature 1, no exit thresholds): pass --calibrate-range to fit them`;
  const rows = c.exitStats.map(
    (s, j) =>
      `| ${s.layer} | ${pct(s.accuracy)} | ${means.temperatures.get(s.layer)!.toPrecision(3)} | ${s.nllBefore.toFixed(3)} -> ${s.nllAfter.toFixed(3)} | ${s.eceBefore.toFixed(3)} -> ${s.eceAfter.toFixed(3)} | ${threshold(c.thresholds.get(means.exits[j])!)} |`,
  );
  return [
    `Calibration on ${c.source} (${c.count} images; the fit's own split, so the after-columns are optimistic):`,
    '',
    '| exit | nearest-class-mean accuracy | temperature | NLL (T = 1 -> fitted) | ECE, 15 bins | exit threshold |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `On this split: final classifier ${pct(c.finalAccuracy)}; per-exit thresholds ${pct(c.perExit.accuracy)} at ${pct(c.perExit.computeFraction)} of the compute; ` +
      `best single threshold (${threshold(c.singleThreshold)}) ${pct(c.single.accuracy)} at ${pct(c.single.computeFraction)} (budget: ${(c.maxAccuracyDrop * 100).toFixed(1)} points).`,
  ].join('\n');
}
