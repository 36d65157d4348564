/**
 * E2CM early exits on the shared CIFAR-10 ResNet-20 / ResNet-56 and both default models: class means,
 * temperature calibration and the per-exit threshold search on one split, evaluated on another.
 * Writes the README's tables: the accuracy/compute table (per-exit thresholds against the best single
 * threshold under the same budget) and, per model, each exit's nearest-class-mean accuracy, NLL and ECE
 * before (T = 1) and after calibration on the evaluation images.
 *
 *   npm run bench:early-exit -- [--models resnet20,resnet56,default-resnet,default-vgg] [--max-accuracy-drop 1] [--out out/bench]
 *
 * CIFAR (1000 test images): three folds rotate the roles of the images, means 400 / calibration 300 /
 * evaluation 300, so every number is measured on images that neither the means nor the calibration saw;
 * pooled rows add the three evaluations up (900 images). Default models: means on generated train images
 * 0..1999, calibration on val 0..999, evaluation on test 0..1999 (the shipped means use the same splits).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Progress } from '../src/cli/progress.js';
import { datasetFromFile, type ImageDataset } from '../src/data/image-dataset.js';
import { tensorSet, type LabelledSet } from '../src/data/labelled-source.js';
import { generateSplit, SYNTHETIC_CLASSES, SYNTHETIC_SIZE, type SyntheticSplit } from '../src/data/synthetic/index.js';
import { calibrateClassMeans } from '../src/e2cm/calibrate.js';
import {
  eceNoiseFloor,
  expectedCalibrationError,
  negativeLogLikelihood,
  softmaxOfNegative,
  topConfidence,
} from '../src/e2cm/calibration.js';
import { computeClassMeans } from '../src/e2cm/class-means.js';
import { observeExits, predictExits, simulateEarlyExit, type EarlyExitResult } from '../src/e2cm/early-exit.js';
import { acquireEngine } from '../src/gpu/acquire.js';
import { modelFromFile } from '../src/graph/model.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { projectRoot } from '../src/util/project-root.js';
import { benchArgs, nonNegativeFlag } from './args.js';

const values = benchArgs(
  'bench:early-exit',
  'usage: bench:early-exit [--models resnet20,resnet56,default-resnet,default-vgg] [--max-accuracy-drop 1] [--out DIR]',
  {
    models: { type: 'string', default: 'resnet20,resnet56,default-resnet,default-vgg' },
    'max-accuracy-drop': { type: 'string', default: '1' },
    out: { type: 'string', default: join('out', 'bench') },
  },
);
const drop = nonNegativeFlag('bench:early-exit', '--max-accuracy-drop', values['max-accuracy-drop']) / 100;
const root = projectRoot();
const cifar = join(root, '..', 'shared', 'data', 'cifar10');

interface Range {
  start: number;
  count: number;
}
interface Fold {
  means: { set: LabelledSet; range: Range; name: string };
  calibration: { set: LabelledSet; range: Range; name: string };
  evaluation: { set: LabelledSet; range: Range; name: string };
}

const span = (r: Range) => `${r.start}..${r.start + r.count - 1}`;

function synthetic(split: SyntheticSplit, count: number): LabelledSet {
  const s = generateSplit(split, count);
  const ds: ImageDataset = {
    images: s.images,
    labels: s.labels,
    count,
    height: SYNTHETIC_SIZE,
    width: SYNTHETIC_SIZE,
    classes: SYNTHETIC_CLASSES,
    source: `generated ${split}`,
  };
  return tensorSet(ds);
}

async function folds(model: string): Promise<Fold[]> {
  if (model.startsWith('default-')) {
    const [train, val, test] = [synthetic('train', 2000), synthetic('val', 1000), synthetic('test', 2000)];
    return [
      {
        means: { set: train, range: { start: 0, count: 2000 }, name: 'train' },
        calibration: { set: val, range: { start: 0, count: 1000 }, name: 'val' },
        evaluation: { set: test, range: { start: 0, count: 2000 }, name: 'test' },
      },
    ];
  }
  const set = tensorSet(datasetFromFile(await readSafetensorsFile(join(cifar, 'test1000.safetensors'))));
  const r = (start: number, count: number) => ({ start, count });
  const fold = (m: Range, c: Range, e: Range): Fold => ({
    means: { set, range: m, name: 'test1000' },
    calibration: { set, range: c, name: 'test1000' },
    evaluation: { set, range: e, name: 'test1000' },
  });
  return [fold(r(0, 400), r(400, 300), r(700, 300)), fold(r(300, 400), r(700, 300), r(0, 300)), fold(r(600, 400), r(0, 300), r(300, 300))];
}

interface FoldResult {
  splits: string;
  finalAccuracy: number;
  perExit: EarlyExitResult;
  single: EarlyExitResult & { chosen: number };
  /** Per exit, per evaluation image: confidence and correctness before / after, and the NLL terms. */
  exits: { before: { conf: number[]; correct: boolean[]; nll: number }; after: { conf: number[]; correct: boolean[]; nll: number } }[];
  temperatures: number[];
  thresholds: number[];
  count: number;
  layerCost: number[];
}

const engine = await acquireEngine();
const md: string[] = [];
const json: Record<string, unknown> = {};
try {
  const rows: string[] = [];
  const exitTables: string[] = [];
  for (const name of values.models!.split(',')) {
    const file = name.startsWith('default-') ? join(root, 'weights', `${name}.safetensors`) : join(cifar, `${name}.safetensors`);
    const model = modelFromFile(engine, await readSafetensorsFile(file));
    const results: FoldResult[] = [];
    for (const f of await folds(name)) {
      const progress = new Progress(
        `${name} ${span(f.evaluation.range)}`,
        f.means.range.count * 2 + f.calibration.range.count + f.evaluation.range.count,
      );
      const means = await computeClassMeans(model, f.means.set.batches(model.info, f.means.range), {
        batchSize: 100,
        onProgress: (d, t, pass) => progress.update(pass === 'means' ? d : t + d),
      });
      const base = f.means.range.count * 2;
      const calibrated = await calibrateClassMeans(model, means, f.calibration.set.batches(model.info, f.calibration.range), {
        maxAccuracyDrop: drop,
        batchSize: 100,
        onProgress: (d) => progress.update(base + d),
      });
      const obs = await observeExits(model, calibrated, f.evaluation.set.batches(model.info, f.evaluation.range), 100, (d) =>
        progress.update(base + f.calibration.range.count + d),
      );
      progress.done();
      const c = calibrated.calibration!;
      const temperatures = calibrated.exits.map((l) => calibrated.temperatures.get(l)!);
      const thresholds = calibrated.exits.map((l) => c.thresholds.get(l)!);
      const pred = predictExits(obs, temperatures);
      const at = (j: number, T: number) => {
        const top = topConfidence(softmaxOfNegative(obs.distances[j], obs.classes, T), obs.classes);
        return {
          conf: top.confidence,
          correct: top.predicted.map((p, i) => p === obs.labels[i]),
          nll: negativeLogLikelihood(obs.distances[j], obs.labels, obs.classes, T) * obs.labels.length,
        };
      };
      results.push({
        splits: `means ${f.means.name} ${span(f.means.range)}, calibration ${f.calibration.name} ${span(f.calibration.range)}, evaluation ${f.evaluation.name} ${span(f.evaluation.range)}`,
        finalAccuracy: obs.finalPrediction.filter((p, i) => p === obs.labels[i]).length / obs.labels.length,
        perExit: simulateEarlyExit(pred, thresholds),
        single: { ...simulateEarlyExit(pred, c.singleThreshold), chosen: c.singleThreshold },
        exits: calibrated.exits.map((_, j) => ({ before: at(j, 1), after: at(j, temperatures[j]) })),
        temperatures,
        thresholds,
        count: obs.labels.length,
        layerCost: obs.layerCost.map((v, j) => v + obs.exitCost[j]),
      });
    }
    const exits = model.exitLayers;
    model.release();
    const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
    const early = (r: EarlyExitResult, n: number) => r.exitCounts.slice(0, -2).reduce((a, b) => a + b, 0) / n;
    const thr = (t: number) => (Number.isFinite(t) ? String(t) : 'never');
    for (const r of results) {
      rows.push(
        `| ${name} | ${r.splits} | ${pct(r.finalAccuracy)} | ${pct(r.perExit.accuracy)} | ${pct(r.perExit.computeFraction)} | ${pct(early(r.perExit, r.count))} | ${thr(r.single.chosen)} | ${pct(r.single.accuracy)} | ${pct(r.single.computeFraction)} | ${pct(early(r.single, r.count))} |`,
      );
    }
    const total = results.reduce((s, r) => s + r.count, 0);
    const pooled = (f: (r: FoldResult) => number) => results.reduce((s, r) => s + f(r) * r.count, 0) / total;
    if (results.length > 1) {
      const earlyPer = pooled((r) => early(r.perExit, r.count));
      const earlySingle = pooled((r) => early(r.single, r.count));
      rows.push(
        `| **${name}, pooled** | the ${results.length} evaluations above (${total} images) | ${pct(pooled((r) => r.finalAccuracy))} | ${pct(pooled((r) => r.perExit.accuracy))} | ${pct(pooled((r) => r.perExit.computeFraction))} | ${pct(earlyPer)} | | ${pct(pooled((r) => r.single.accuracy))} | ${pct(pooled((r) => r.single.computeFraction))} | ${pct(earlySingle)} |`,
      );
    }
    // Per exit, pooled over the folds' evaluation images.
    const table = exits.map((layer, j) => {
      const cat = (k: 'before' | 'after') => ({
        conf: results.flatMap((r) => r.exits[j][k].conf),
        correct: results.flatMap((r) => r.exits[j][k].correct),
        nll: results.reduce((s, r) => s + r.exits[j][k].nll, 0) / total,
      });
      const [b, a] = [cat('before'), cat('after')];
      const row = {
        layer,
        computeFraction: pooled((r) => r.layerCost[j]),
        accuracy: a.correct.filter(Boolean).length / total,
        temperature: results.map((r) => r.temperatures[j]),
        nllBefore: b.nll,
        nllAfter: a.nll,
        eceBefore: expectedCalibrationError(b.conf, b.correct),
        eceAfter: expectedCalibrationError(a.conf, a.correct),
        eceFloor: eceNoiseFloor(a.conf),
        thresholds: results.map((r) => r.thresholds[j]),
      };
      return row;
    });
    json[name] = {
      folds: results.map(({ exits: _e, ...r }) => ({
        ...r,
        perExit: { ...r.perExit, predictions: undefined },
        single: { ...r.single, predictions: undefined },
      })),
      exits: table,
    };
    exitTables.push(
      [
        `${name}, per exit on the evaluation images (${total}; ${results.length > 1 ? 'pooled over the folds' : results[0].splits}):`,
        '',
        '| exit | compute to leave here | nearest-class-mean accuracy | temperature | NLL, T = 1 -> calibrated | ECE, T = 1 -> calibrated | ECE if perfectly calibrated | threshold |',
        '|---|---|---|---|---|---|---|---|',
        ...table.map(
          (t) =>
            `| ${t.layer} | ${pct(t.computeFraction)} | ${pct(t.accuracy)} | ${t.temperature.map((v) => v.toPrecision(2)).join(' / ')} | ${t.nllBefore.toFixed(3)} -> ${t.nllAfter.toFixed(3)} | ${t.eceBefore.toFixed(3)} -> ${t.eceAfter.toFixed(3)} | ${t.eceFloor.toFixed(3)} | ${t.thresholds.map(thr).join(' / ')} |`,
        ),
        '',
      ].join('\n'),
    );
    console.log(`${name}: done`);
  }
  md.push(
    `E2CM early exits under a ${(drop * 100).toFixed(1)}-point budget: per-exit thresholds against the best single threshold (both chosen on the calibration images, measured on the evaluation images). "Early" = answered before the last residual block / stage.`,
    '',
    '| model | splits | final classifier | per-exit: accuracy | compute | early | single threshold | accuracy | compute | early |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...exitTables,
  );
  const text = md.join('\n');
  console.log(text);
  await mkdir(values.out!, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(values.out!, `early-exit-${stamp}.md`), text + '\n');
  await writeFile(join(values.out!, `early-exit-${stamp}.json`), JSON.stringify(json, null, 2) + '\n');
  console.log(`wrote ${join(values.out!, `early-exit-${stamp}.{md,json}`)}`);
} finally {
  engine.destroy();
}
