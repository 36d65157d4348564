import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { gradientToImage, overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel, type ModelInput } from '../image/preprocess.js';
import { COLORMAP_NAMES, type ColormapName } from '../image/colormap.js';
import type { RgbImage } from '../image/image.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { METHODS, findMethod, type MethodEntry } from '../methods/registry.js';
import { topPredictions } from '../api/predictions.js';
import { explainReport, type ExplainRow } from '../report/explain-report.js';
import { assertFiniteResult } from '../util/finite.js';
import { stretchToUnit } from '../util/stretch.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, FORCE, LAYER, outDir, TARGET, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { Progress } from './progress.js';

export const EXPLAIN = defineCommand({
  name: 'explain',
  summary: 'explain images with attribution methods; PNG overlays, raw maps, HTML report',
  usage: '--weights FILE --image FILE... [options]',
  description: `Explains each image's prediction with one or every attribution method; prints the top-5 classes,
writes a PNG overlay and the raw float32 map (safetensors) per method and image, and an HTML page
with all methods side by side.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    image: {
      type: 'file',
      arg: 'FILE',
      required: true,
      multiple: true,
      help: 'an image (PNG or JPEG); repeat for several, they run as one batch',
    },
    method: {
      type: 'enum',
      arg: 'NAME|all',
      values: ['all', ...METHODS.map((m) => m.name)],
      default: 'all',
      help: `${METHODS.map((m) => m.name).join(', ')}, or all`,
    },
    layer: {
      ...LAYER,
      help: "layer for the CAM-family methods (PyTorch module name, e.g. layer4, features.29);\ndefault: the model's last convolutional stage",
    },
    target: TARGET,
    'rise-masks': { type: 'int', arg: 'N', min: 1, max: 100_000, default: 4000, help: 'masks for RISE (fewer is faster and noisier)' },
    colormap: { type: 'enum', arg: 'NAME', values: COLORMAP_NAMES, default: 'jet', help: COLORMAP_NAMES.join(', ') },
    out: outDir('explain'),
    force: FORCE,
  },
  async run(values, out) {
    const methods = values.method === 'all' ? METHODS : [findMethod(values.method)];
    out.expect(explainOutputNames(values.image, methods));
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      await explain(engine, model, {
        images: values.image,
        methods,
        layer: values.layer,
        target: parseTarget(values.target, model.info.classes),
        colormap: values.colormap,
        riseMasks: values['rise-masks'],
        outDir: out.dir,
        show: out.show,
      });
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const EXPLAIN_HELP = EXPLAIN.help;
export const explainCommand = (argv: string[]): Promise<void> => EXPLAIN.invoke(argv);

interface Output {
  image: string;
  method: MethodEntry;
  png: string;
  raw: string;
}

export interface ExplainJob {
  images: string[];
  methods: MethodEntry[];
  layer?: string;
  target: number | 'top1';
  colormap: ColormapName;
  riseMasks?: number;
  /** Where to write (the command's staging folder). */
  outDir: string;
  /** How a path under the staging folder is named in messages and metadata (its final place). */
  show?: (path: string) => string;
  title?: string;
}

/** Runs the job; returns the report path. Shared by `explain` and the demo. */
export async function explain(engine: Engine, model: Model, job: ExplainJob): Promise<string> {
  const layer = job.layer ?? model.defaultCamLayer;
  model.assertLayer(layer);
  const methods = job.methods.filter((m) => !m.supports || m.supports(model));
  const skipped = job.methods.filter((m) => !methods.includes(m));
  if (job.methods.length === 1 && skipped.length) findMethodRefusal(model, skipped[0]);

  const show = job.show ?? ((p: string) => p);
  const stems = uniqueStems(job.images);
  const outputs: Output[] = stems.flatMap((stem) =>
    methods.map((method) => ({ image: stem, method, png: `${stem}.${method.name}.png`, raw: `${stem}.${method.name}.safetensors` })),
  );
  const report = join(job.outDir, 'index.html');
  const inputs = stems.map((s) => `${s}.input.png`);
  await mkdir(job.outDir, { recursive: true });

  const [h, w] = model.info.inputSize;
  // One at a time: a full-size photo is dropped as soon as it is reduced to the model's input.
  const prepared: ModelInput[] = [];
  for (const path of job.images) {
    prepared.push(
      preprocessForModel(await readImageFile(path), {
        inputSize: [h, w],
        mean: model.info.mean,
        std: model.info.std,
        resize: model.info.resize,
      }),
    );
  }
  const batch = new Float32Array(prepared.length * 3 * h * w);
  prepared.forEach((p, i) => batch.set(p.chw, i * 3 * h * w));
  const x = engine.upload(batch, [prepared.length, 3, h, w], 'images');

  const predictions = await topPredictions(model, x, 5);
  assertFiniteResult(
    predictions.flatMap((p) => p.map((q) => q.prob)),
    'the class probabilities',
  );
  predictions.forEach((preds, i) => {
    console.log(`${show(job.images[i])}:`);
    for (const p of preds) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${p.label}`);
  });
  for (const [i, p] of prepared.entries()) await writePng(join(job.outDir, inputs[i]), p.image);

  const rows: ExplainRow[] = stems.map((stem, i) => ({
    image: basename(job.images[i]),
    inputPng: inputs[i],
    predictions: predictions[i],
    cells: [],
  }));
  const progress = new Progress('explain', methods.length);
  for (const [k, method] of methods.entries()) {
    progress.update(k, method.name);
    const attribution = await method.run(model, x, {
      target: job.target,
      layer: method.usesLayer ? layer : undefined,
      masks: job.riseMasks,
    });
    const maps = await attribution.maps.readF32();
    assertFiniteResult(maps, `the ${method.name} maps`);
    const [, c, mh, mw] = attribution.maps.shape;
    for (let i = 0; i < stems.length; i++) {
      const map = maps.slice(i * c * mh * mw, (i + 1) * c * mh * mw);
      // RISE maps keep their 1/(N p) scale (docs/design.md §2.9); the overlay reads [0, 1], so stretch for display only
      // (the raw map written beside it is untouched).
      const shown = attribution.kind === 'heatmap' ? stretchToUnit(map) : map;
      const picture: RgbImage =
        attribution.kind === 'heatmap'
          ? overlayHeatmap(prepared[i].image, shown, mw, mh, { colormap: job.colormap, alpha: 0.5 })
          : gradientToImage(map, c, mh, mw);
      const out = outputs.find((o) => o.image === stems[i] && o.method === method)!;
      await writePng(join(job.outDir, out.png), picture);
      await writeSafetensorsFile(
        join(job.outDir, out.raw),
        { map: { dtype: 'F32', shape: [c, mh, mw], data: map } },
        {
          method: method.name,
          kind: attribution.kind,
          target: String(attribution.targets[i]),
          layer: attribution.layer ?? '',
          image: show(job.images[i]),
          model: model.info.architecture,
        },
      );
      const targetName = model.info.classes[attribution.targets[i]] ?? String(attribution.targets[i]);
      rows[i].cells.push({
        method: method.name,
        png: out.png,
        target: method.name === 'guided-backprop' || !attribution.layer ? targetName : `${targetName} @ ${attribution.layer}`,
      });
    }
    engine.release(attribution.maps);
  }
  progress.done();
  engine.release(x);
  const html = explainReport(
    job.title ?? 'LayerTracer explanations',
    model.info.architecture,
    layer,
    methods.map((m) => ({ name: m.name, title: m.title })),
    rows,
  );
  await writeFile(report, html, { flag: 'wx' });
  if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.map((m) => m.name).join(', ')}`);
  console.log(`wrote ${outputs.length * 2 + stems.length} files and ${show(report)}`);
  return report;
}

function findMethodRefusal(model: Model, m: MethodEntry): never {
  throw new UsageError(
    `method ${m.name} does not apply to ${model.info.architecture}${m.name === 'cam' ? ': CAM needs a global-average-pool + linear head (use grad-cam)' : ''}`,
  );
}

/** Every file explain may write for these images and methods, relative to the output folder. */
export function explainOutputNames(images: string[], methods: readonly MethodEntry[]): string[] {
  const stems = uniqueStems(images);
  return [
    'index.html',
    ...stems.map((s) => `${s}.input.png`),
    ...stems.flatMap((s) => methods.flatMap((m) => [`${s}.${m.name}.png`, `${s}.${m.name}.safetensors`])),
  ];
}

/** File stems for outputs; duplicates get -2, -3 so two images named the same never overwrite each other. */
function uniqueStems(paths: string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const stem = basename(p, extname(p));
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return n === 1 ? stem : `${stem}-${n}`;
  });
}
