import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLabelledSet } from '../data/labelled-source.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Model } from '../graph/model.js';
import { causalMetrics } from '../metrics/insertion-deletion.js';
import { toHeatmap } from '../methods/heatmap.js';
import { methodCost, reportsTrueProgress } from '../methods/cost.js';
import { METHODS, findMethod, type MethodEntry } from '../methods/registry.js';
import { parseRange } from './data-range.js';
import { UsageError } from './errors.js';
import { loadModelFile } from './load-model.js';
import { parseRiseMasks, resolveRiseMasks } from './explain.js';
import { Progress } from './progress.js';

/** Defaults sized like the README's 100-image run, so a first run finishes in reasonable time. */
const EVALUATE_STEPS = 32;
const EVALUATE_RISE_SECONDS = 3;

export const EVALUATE_HELP = `layertracer evaluate --weights FILE --data FILE|DIR [options]

Scores attribution methods with RISE's causal metrics: insertion AUC (higher is better: revealing the
most salient pixels first over a blurred copy recovers the class quickly) and deletion AUC (lower is
better: deleting them first destroys it quickly), on the softmax probability of each image's clean
top-1 class. Prints a table and writes evaluate.csv and evaluate.json.

  --weights FILE         model weights
  --data FILE|DIR        labelled images (safetensors or a folder per class)
  --range A:B            images A..B-1 (default 0:100)
  --methods LIST|all     comma-separated method names, or all (default)
  --pixels-per-step N    pixels changed per step (default ceil(H*W/${EVALUATE_STEPS}): ${EVALUATE_STEPS} steps; the RISE paper
                         changes 224 pixels per step at 224x224, i.e. 224 steps)
  --rise-masks N|auto    masks for RISE when evaluated; auto (default): as many as fit --rise-seconds per
                         image on this model and adapter (measured once, then fixed for every image)
  --rise-seconds S       RISE time budget per image for auto (default ${EVALUATE_RISE_SECONDS})
  --batch N              step images per forward pass (default 64)
  --out DIR              default out/evaluate
  --force                overwrite existing outputs
`;

export interface MethodScore {
  method: string;
  images: number;
  insertion: number;
  deletion: number;
  seconds: number;
}

export async function evaluateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      data: { type: 'string' },
      range: { type: 'string', default: '0:100' },
      methods: { type: 'string', default: 'all' },
      'pixels-per-step': { type: 'string' },
      'rise-masks': { type: 'string', default: 'auto' },
      'rise-seconds': { type: 'string', default: String(EVALUATE_RISE_SECONDS) },
      batch: { type: 'string', default: '64' },
      out: { type: 'string', default: join('out', 'evaluate') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(EVALUATE_HELP);
  if (!values.weights || !values.data) throw new UsageError('evaluate needs --weights and --data (see --help)');
  const names = values.methods === 'all' ? METHODS.map((m) => m.name) : values.methods!.split(',');
  const riseSetting = parseRiseMasks(values['rise-masks']!, values['rise-seconds']!);
  const outputs = [join(values.out!, 'evaluate.csv'), join(values.out!, 'evaluate.json')];
  if (!values.force && outputs.some(existsSync)) throw new UsageError(`${values.out}/evaluate.* exist; pass --force to overwrite`);
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const set = await openLabelledSet(values.data);
    const range = parseRange(values.range, set.count);
    const [h, w] = model.info.inputSize;
    const pixelsPerStep = values['pixels-per-step'] ? Number(values['pixels-per-step']) : Math.ceil((h * w) / EVALUATE_STEPS);
    const riseMasks = names.includes('rise') ? await resolveRiseMasks(model, riseSetting) : 0;
    const note =
      `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}; ` +
      `${pixelsPerStep} pixels per step${riseMasks ? `, RISE ${riseMasks} masks` : ''}`;
    const scores = await evaluateMethods(model, set.batches(model.info, range), names, {
      pixelsPerStep,
      riseMasks,
      batchSize: Number(values.batch),
      // A long run shows its running means every 10 images, so an interrupted run is not wasted.
      onImage: (done, partial) => {
        if (done % 10 === 0 && done < range.count) console.log(`\n${scoreTable(partial, `${note}; first ${done} images`)}`);
      },
    });
    console.log(scoreTable(scores, note));
    await mkdir(values.out!, { recursive: true });
    const flag = values.force ? 'w' : 'wx';
    await writeFile(
      outputs[0],
      [
        'method,images,insertion_auc,deletion_auc,seconds',
        ...scores.map((s) => `${s.method},${s.images},${s.insertion},${s.deletion},${s.seconds}`),
      ].join('\n') + '\n',
      { flag },
    );
    await writeFile(outputs[1], JSON.stringify({ note, scores }, null, 2), { flag });
    console.log(`wrote ${outputs.join(', ')}`);
    model.release();
  } finally {
    engine.destroy();
  }
}

export async function evaluateMethods(
  model: Model,
  data: import('../e2cm/class-means.js').LabelledBatches,
  names: string[],
  opts: { pixelsPerStep?: number; riseMasks: number; batchSize: number; onImage?: (done: number, partial: MethodScore[]) => void },
): Promise<MethodScore[]> {
  const e = model.engine;
  const usable: MethodEntry[] = names.map(findMethod).filter((m) => !m.supports || m.supports(model));
  const scores: MethodScore[] = usable.map((m) => ({ method: m.name, images: 0, insertion: 0, deletion: 0, seconds: 0 }));
  // Every (image, method) step: the method, then its insertion and deletion passes; after the first
  // image each method's measured time predicts the rest.
  const plane = data.shape[1] * data.shape[2];
  const metricPasses = (2 * plane) / (opts.pixelsPerStep ?? Math.ceil(plane / 224));
  const progress = new Progress(
    'evaluate',
    Array.from({ length: data.count }, () =>
      usable.map((m) => ({ kind: m.name, cost: methodCost(m.name, { masks: opts.riseMasks }) + 0.3 * metricPasses })),
    ).flat(),
  );
  for (let i = 0; i < data.count; i++) {
    const x = e.upload(data.batch(i, 1).data, [1, ...data.shape], 'evaluate.image');
    for (const [k, method] of usable.entries()) {
      const t0 = performance.now();
      const step = i * usable.length + k;
      progress.update(step, method.name);
      const attribution = await method.run(model, x, {
        masks: opts.riseMasks,
        onProgress: reportsTrueProgress(method.name) ? (done, total) => progress.update(step, method.name, done / total) : undefined,
      });
      const heat = toHeatmap(e, attribution);
      const saliency = await heat.readF32();
      e.releaseAll(heat, attribution.maps);
      const r = await causalMetrics(model, x, saliency, { pixelsPerStep: opts.pixelsPerStep, batchSize: opts.batchSize });
      const s = scores[k];
      s.images++;
      s.insertion += (r.insertion.auc - s.insertion) / s.images;
      s.deletion += (r.deletion.auc - s.deletion) / s.images;
      s.seconds += (performance.now() - t0) / 1000;
      progress.update(i * usable.length + k + 1, method.name);
    }
    e.release(x);
    opts.onImage?.(i + 1, scores);
  }
  return scores;
}

export function scoreTable(scores: MethodScore[], note: string): string {
  return [
    `Insertion / deletion AUC (${note}; mean over images)`,
    '',
    '| method | insertion AUC (higher better) | deletion AUC (lower better) | seconds |',
    '|---|---|---|---|',
    ...scores.map((s) => `| ${s.method} | ${s.insertion.toFixed(4)} | ${s.deletion.toFixed(4)} | ${s.seconds.toFixed(1)} |`),
    '',
  ].join('\n');
}
