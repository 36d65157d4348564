/**
 * LayerTracer's per-layer numbers over CIFAR-10 test images with the shared ResNet-20 (or ResNet-56):
 * for each mask score, per layer the mean class sensitivity (1 - mean correlation of the target's map
 * with the other classes' maps), the correlation with the runner-up class's map, contrast (std / mean),
 * class sensitivity and contrast of noise maps (the same scores with decoy masks), and insertion /
 * deletion AUC, against a seeded random map. Class means from test images 0..399,
 * calibrated on 400..699; traced images from 700 on (never seen by the means or the calibration).
 *
 *   npm run bench:layertracer -- [--model resnet20] [--images 100] [--limit 8] [--masks 1000]
 *                                [--scores contrastive,confidence] [--pixels-per-step 32] [--out out/bench/layertracer]
 *   npm run bench:layertracer -- --speed      # several images per pass against one at a time
 *
 * Resumable: each image's numbers go to <out>/<model>-<score>.jsonl as they finish, and a run does at most
 * --limit new images per score (so a run fits in a short GPU slot); when all --images are there it
 * writes the table (<out>/<model>.md).
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetFromFile } from '../src/data/image-dataset.js';
import { tensorSet } from '../src/data/labelled-source.js';
import { calibrateClassMeans } from '../src/e2cm/calibrate.js';
import { computeClassMeans } from '../src/e2cm/class-means.js';
import { acquireEngine } from '../src/gpu/acquire.js';
import { modelFromFile } from '../src/graph/model.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { layerEvidence } from '../src/methods/layer-evidence.js';
import { pearson } from '../src/metrics/statistics.js';
import { layerTracer, type MaskScore } from '../src/methods/layertracer.js';
import { projectRoot } from '../src/util/project-root.js';
import { benchArgs, intFlag } from './args.js';

const SCRIPT = 'bench:layertracer';
const values = benchArgs(
  SCRIPT,
  'usage: bench:layertracer [--model resnet20] [--images 100] [--limit 8] [--masks 1000] [--group 4]\n' +
    '                         [--scores contrastive,confidence] [--pixels-per-step 32] [--out DIR]\n' +
    '       bench:layertracer --speed   (several images per pass against one at a time)',
  {
    model: { type: 'string', default: 'resnet20' },
    images: { type: 'string', default: '100' },
    limit: { type: 'string', default: '8' },
    masks: { type: 'string', default: '1000' },
    scores: { type: 'string', default: 'contrastive,confidence' },
    'pixels-per-step': { type: 'string', default: '32' },
    group: { type: 'string', default: '4' },
    speed: { type: 'boolean', default: false },
    out: { type: 'string', default: join('out', 'bench', 'layertracer') },
  },
);
// images traced in all, masks per image, pixels per insertion/deletion step, images per pass
const total = intFlag(SCRIPT, '--images', values.images);
const masks = intFlag(SCRIPT, '--masks', values.masks);
const pixelsPerStep = intFlag(SCRIPT, '--pixels-per-step', values['pixels-per-step']);
const group = intFlag(SCRIPT, '--group', values.group);
// --limit 0 traces nothing new and writes the tables from the images traced before
const limit = intFlag(SCRIPT, '--limit', values.limit, 0);
const FIRST_TRACED = 700;
const cifar = join(projectRoot(), '..', 'shared', 'data', 'cifar10');

interface ImageRecord {
  index: number;
  label: number;
  target: number;
  runnerUp: number;
  exitLayer: string | null;
  layers: {
    layer: string;
    classSensitivity: number;
    runnerUpCorrelation: number;
    contrast: number;
    insertion: number;
    deletion: number;
    baseline?: { classSensitivity: number; contrast: number };
  }[];
  random: { insertion: number; deletion: number };
}

const engine = await acquireEngine();
try {
  const model = modelFromFile(engine, await readSafetensorsFile(join(cifar, `${values.model}.safetensors`)));
  const set = tensorSet(datasetFromFile(await readSafetensorsFile(join(cifar, 'test1000.safetensors'))));
  const means = await calibrateClassMeans(
    model,
    await computeClassMeans(model, set.batches(model.info, { start: 0, count: 400 }), { batchSize: 100 }),
    set.batches(model.info, { start: 400, count: 300 }),
    { batchSize: 100 },
  );
  const imageBatch = (start: number, count: number) => set.batches(model.info, { start, count }).batch(0, count);

  if (values.speed) {
    // The same masks and forward passes either way: 8 images, one per pass or eight per pass.
    const n = 8;
    const x = engine.upload(imageBatch(FIRST_TRACED, n).data, [n, 3, 32, 32], 'x');
    const run = async (imagesPerPass: number) => {
      const t = performance.now();
      const r = await layerTracer(model, x, means, { masks: 256, batchSize: 64, imagesPerPass });
      await engine.finish();
      r.release();
      return performance.now() - t;
    };
    await run(n); // compile pipelines first
    const [one, all] = [await run(1), await run(n)];
    console.log(
      `LayerTracer, ${values.model}, ${n} images x 256 masks, 64 masked images per pass: one image per pass ${(one / 1000).toFixed(1)} s, ${n} per pass ${(all / 1000).toFixed(1)} s (x${(one / all).toFixed(2)}); machine shared`,
    );
    engine.release(x);
  } else {
    await mkdir(values.out!, { recursive: true });
    const tables: string[] = [];
    for (const score of values.scores!.split(',') as MaskScore[]) {
      const path = join(values.out!, `${values.model}-${score}.jsonl`);
      const done = existsSync(path)
        ? (await readFile(path, 'utf8'))
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as ImageRecord)
        : [];
      let budget = limit;
      for (let first = FIRST_TRACED + done.length; first < FIRST_TRACED + total && budget > 0; first += group) {
        const count = Math.min(group, FIRST_TRACED + total - first, budget);
        budget -= count;
        const { data, labels } = imageBatch(first, count);
        const x = engine.upload(data, [count, 3, 32, 32], 'x');
        const logits = await model.logits(x);
        const result = await layerTracer(model, x, means, {
          masks,
          batchSize: 64,
          score,
          seed: first,
          baseline: true,
        });
        const evidence = await layerEvidence(model, x, result, { pixelsPerStep, seed: first });
        const classMaps = new Map<string, Float32Array>();
        for (const l of result.layers) classMaps.set(l, await result.classMaps.get(l)!.readF32());
        for (let i = 0; i < count; i++) {
          const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
          const order = row.map((v, k) => [v, k] as const).sort((a, b) => b[0] - a[0]);
          const target = result.targets[i];
          const runnerUp = order.find(([, k]) => k !== target)![1];
          const map = (l: string, k: number) => classMaps.get(l)!.subarray((i * 10 + k) * 1024, (i * 10 + k + 1) * 1024);
          const record: ImageRecord = {
            index: first + i,
            label: labels[i],
            target,
            runnerUp,
            exitLayer: result.exitLayer[i],
            layers: evidence[i].layers.map((e) => ({
              ...e,
              runnerUpCorrelation: pearson(map(e.layer, target), map(e.layer, runnerUp), { bothConstant: 0 }),
            })),
            random: evidence[i].random,
          };
          await appendFile(path, JSON.stringify(record) + '\n');
          done.push(record);
        }
        result.release();
        engine.release(x);
        console.log(`${score}: ${done.length}/${total} images`);
      }
      if (done.length >= total) tables.push(evidenceTable(values.model!, score, done.slice(0, total), masks));
    }
    if (tables.length) {
      const text = tables.join('\n');
      console.log(text);
      await writeFile(join(values.out!, `${values.model}.md`), text + '\n');
    }
  }
  model.release();
} finally {
  engine.destroy();
}

function evidenceTable(model: string, score: string, records: ImageRecord[], masks: number): string {
  const n = records.length;
  const mean = (f: (r: ImageRecord) => number) => records.reduce((s, r) => s + f(r), 0) / n;
  const sd = (f: (r: ImageRecord) => number) => {
    const m = mean(f);
    return Math.sqrt(records.reduce((s, r) => s + (f(r) - m) ** 2, 0) / Math.max(1, n - 1));
  };
  const cell = (f: (r: ImageRecord) => number) => `${mean(f).toFixed(3)} ± ${(sd(f) / Math.sqrt(n)).toFixed(3)}`;
  const layers = records[0].layers.map((l) => l.layer);
  const rows = layers.map((layer, j) => {
    const at = (r: ImageRecord) => r.layers[j];
    return `| ${layer} | ${cell((r) => at(r).classSensitivity)} | ${cell((r) => at(r).baseline!.classSensitivity)} | ${cell((r) => at(r).runnerUpCorrelation)} | ${cell((r) => at(r).contrast)} | ${cell((r) => at(r).baseline!.contrast)} | ${cell((r) => at(r).insertion)} | ${cell((r) => at(r).deletion)} |`;
  });
  const exits = records.filter((r) => r.exitLayer).length;
  return [
    `${model}, score ${score}, ${masks} masks, CIFAR-10 test images ${records[0].index}..${records[n - 1].index} (${n}; mean ± standard error); ${exits} of them exit early:`,
    '',
    '| layer | class sensitivity | (noise maps) | correlation with the runner-up class | contrast | (noise maps) | insertion AUC | deletion AUC |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    `| random map | | | | | | ${cell((r) => r.random.insertion)} | ${cell((r) => r.random.deletion)} |`,
    '',
  ].join('\n');
}
