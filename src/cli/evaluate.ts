import { writeFile } from 'node:fs/promises';
import { openLabelledSet } from '../data/labelled-source.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Model } from '../graph/model.js';
import { causalMetrics } from '../metrics/insertion-deletion.js';
import { toHeatmap } from '../methods/heatmap.js';
import { METHODS, findMethod, type MethodEntry } from '../methods/registry.js';
import { parseRange } from './data-range.js';
import { assertFiniteResult } from '../util/finite.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, DATA, FORCE, outDir, RANGE, WEIGHTS } from './common-options.js';
import { loadModelFile } from './load-model.js';
import { Progress } from './progress.js';

export interface MethodScore {
  method: string;
  images: number;
  insertion: number;
  deletion: number;
  seconds: number;
}

export const EVALUATE = defineCommand({
  name: 'evaluate',
  summary: 'insertion / deletion AUC of every method on a labelled set (table, CSV, JSON)',
  usage: '--weights FILE --data FILE|DIR [options]',
  description: `Scores attribution methods with RISE's causal metrics: insertion AUC (higher is better: revealing the
most salient pixels first over a blurred copy recovers the class quickly) and deletion AUC (lower is
better: deleting them first destroys it quickly), on the softmax probability of each image's clean
top-1 class. Prints a table and writes evaluate.csv and evaluate.json.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    data: DATA,
    range: { ...RANGE, default: '0:100' },
    methods: {
      type: 'string-list',
      arg: 'LIST|all',
      values: ['all', ...METHODS.map((m) => m.name)],
      default: 'all',
      help: 'comma-separated method names, or all',
    },
    'pixels-per-step': {
      type: 'int',
      arg: 'N',
      min: 1,
      help: 'pixels changed per step (default ceil(H*W/224): 224 steps)',
    },
    'rise-masks': { type: 'int', arg: 'N', min: 1, max: 100_000, default: 4000, help: 'masks for RISE when evaluated' },
    batch: batchOption(32, 'step images per forward pass'),
    out: outDir('evaluate'),
    force: FORCE,
  },
  async run(values, out) {
    const names = values.methods.includes('all') ? METHODS.map((m) => m.name) : values.methods;
    const outputs = ['evaluate.csv', 'evaluate.json'];
    out.expect(outputs);
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const set = await openLabelledSet(values.data);
      const range = parseRange(values.range, set.count);
      const note = `${model.info.architecture}, ${set.description} images ${range.start}..${range.start + range.count - 1}`;
      const scores = await evaluateMethods(model, set.batches(model.info, range), names, {
        pixelsPerStep: values['pixels-per-step'],
        riseMasks: values['rise-masks'],
        batchSize: values.batch,
        // A long run shows its running means every 10 images, so an interrupted run is not wasted.
        onImage: (done, partial) => {
          if (done % 10 === 0 && done < range.count) console.log(`\n${scoreTable(partial, `${note}; first ${done} images`)}`);
        },
      });
      for (const s of scores) assertFiniteResult([s.insertion, s.deletion], `the ${s.method} scores`);
      console.log(scoreTable(scores, note));
      await writeFile(
        out.path(outputs[0]),
        [
          'method,images,insertion_auc,deletion_auc,seconds',
          ...scores.map((s) => `${s.method},${s.images},${s.insertion},${s.deletion},${s.seconds}`),
        ].join('\n') + '\n',
        { flag: 'wx' },
      );
      await writeFile(out.path(outputs[1]), JSON.stringify({ note, scores }, null, 2), { flag: 'wx' });
      console.log(`wrote ${outputs.map((o) => out.final(o)).join(', ')}`);
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EVALUATE_HELP = EVALUATE.help;
export const evaluateCommand = (argv: string[]): Promise<void> => EVALUATE.invoke(argv);

export async function evaluateMethods(
  model: Model,
  data: import('../data/labelled-batches.js').LabelledBatches,
  names: string[],
  opts: { pixelsPerStep?: number; riseMasks: number; batchSize: number; onImage?: (done: number, partial: MethodScore[]) => void },
): Promise<MethodScore[]> {
  const e = model.engine;
  const usable: MethodEntry[] = names.map(findMethod).filter((m) => !m.supports || m.supports(model));
  const scores: MethodScore[] = usable.map((m) => ({ method: m.name, images: 0, insertion: 0, deletion: 0, seconds: 0 }));
  const progress = new Progress('evaluate', data.count * usable.length);
  for (let i = 0; i < data.count; i++) {
    const x = e.upload(data.batch(i, 1).data, [1, ...data.shape], 'evaluate.image');
    for (const [k, method] of usable.entries()) {
      const t0 = performance.now();
      const attribution = await method.run(model, x, { masks: opts.riseMasks });
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
