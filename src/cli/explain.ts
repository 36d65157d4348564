import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { gradientToImage, overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel } from '../image/preprocess.js';
import { parseColormapName, type ColormapName } from '../image/colormap.js';
import type { RgbImage } from '../image/image.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { METHODS, findMethod, type MethodEntry } from '../methods/registry.js';
import { topPredictions } from '../api/predictions.js';
import { explainReport, type ExplainRow } from '../report/explain-report.js';
import { stretchToUnit } from '../util/stretch.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { Progress } from './progress.js';

export const EXPLAIN_HELP = `layertracer explain --weights FILE --image FILE... [options]

Explains each image's prediction with one or every attribution method; prints the top-5 classes,
writes a PNG overlay and the raw float32 map (safetensors) per method and image, and an HTML page
with all methods side by side.

  --weights FILE     model weights (.safetensors, from tools/export_weights.py or weights/)
  --image FILE       an image (PNG or JPEG); repeat for several, they run as one batch
  --method NAME|all  ${METHODS.map((m) => m.name).join(', ')}, or all (default)
  --layer NAME       layer for the CAM-family methods (PyTorch module name, e.g. layer4, features.29);
                     default: the model's last convolutional stage
  --target CLASS     top1 (default), a class index, or a class name
  --rise-masks N     masks for RISE (default 4000; fewer is faster and noisier)
  --colormap NAME    jet (default), turbo, viridis
  --out DIR          output folder (default out/explain)
  --force            overwrite existing output files (never done otherwise)
  -h, --help         this text
`;

interface Output {
  image: string;
  method: MethodEntry;
  png: string;
  raw: string;
}

export async function explainCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      image: { type: 'string', multiple: true },
      method: { type: 'string', default: 'all' },
      layer: { type: 'string' },
      target: { type: 'string' },
      colormap: { type: 'string', default: 'jet' },
      'rise-masks': { type: 'string', default: '4000' },
      out: { type: 'string', default: join('out', 'explain') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(EXPLAIN_HELP);
  if (!values.weights) throw new UsageError('explain needs --weights FILE (see --help)');
  if (!values.image?.length) throw new UsageError('explain needs at least one --image FILE (see --help)');
  const colormap = parseColormapName(values.colormap!);
  const methods = values.method === 'all' ? METHODS : [findMethod(values.method!)];

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    await explain(engine, model, {
      images: values.image,
      methods,
      layer: values.layer,
      target: parseTarget(values.target, model.info.classes),
      colormap,
      riseMasks: Number(values['rise-masks']),
      outDir: values.out!,
      force: values.force!,
    });
    model.release();
  } finally {
    engine.destroy();
  }
}

export interface ExplainJob {
  images: string[];
  methods: MethodEntry[];
  layer?: string;
  target: number | 'top1';
  colormap: ColormapName;
  riseMasks?: number;
  outDir: string;
  force: boolean;
  title?: string;
}

/** Runs the job; returns the report path. Shared by `explain` and the demo. */
export async function explain(engine: Engine, model: Model, job: ExplainJob): Promise<string> {
  const layer = job.layer ?? model.defaultCamLayer;
  model.assertLayer(layer);
  const methods = job.methods.filter((m) => !m.supports || m.supports(model));
  const skipped = job.methods.filter((m) => !methods.includes(m));
  if (job.methods.length === 1 && skipped.length) findMethodRefusal(model, skipped[0]);

  const stems = uniqueStems(job.images);
  const outputs: Output[] = stems.flatMap((stem) =>
    methods.map((method) => ({ image: stem, method, png: `${stem}.${method.name}.png`, raw: `${stem}.${method.name}.safetensors` })),
  );
  const report = join(job.outDir, 'index.html');
  const inputs = stems.map((s) => `${s}.input.png`);
  // Refuse before any work: nothing the user has is overwritten without --force.
  if (!job.force) {
    const clash = [
      report,
      ...inputs.map((p) => join(job.outDir, p)),
      ...outputs.flatMap((o) => [join(job.outDir, o.png), join(job.outDir, o.raw)]),
    ].filter((p) => existsSync(p));
    if (clash.length)
      throw new UsageError(
        `output files already exist (${clash.slice(0, 3).join(', ')}${clash.length > 3 ? ', ...' : ''}); pass --force to overwrite or choose another --out`,
      );
  }
  await mkdir(job.outDir, { recursive: true });

  const [h, w] = model.info.inputSize;
  const prepared = await Promise.all(
    job.images.map(async (path) =>
      preprocessForModel(await readImageFile(path), {
        inputSize: [h, w],
        mean: model.info.mean,
        std: model.info.std,
        resize: model.info.resize,
      }),
    ),
  );
  const batch = new Float32Array(prepared.length * 3 * h * w);
  prepared.forEach((p, i) => batch.set(p.chw, i * 3 * h * w));
  const x = engine.upload(batch, [prepared.length, 3, h, w], 'images');

  const predictions = await topPredictions(model, x, 5);
  predictions.forEach((preds, i) => {
    console.log(`${job.images[i]}:`);
    for (const p of preds) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${p.label}`);
  });
  for (const [i, p] of prepared.entries()) await writePng(join(job.outDir, inputs[i]), p.image, { force: job.force });

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
    const [, c, mh, mw] = attribution.maps.shape;
    for (let i = 0; i < stems.length; i++) {
      const map = maps.slice(i * c * mh * mw, (i + 1) * c * mh * mw);
      // RISE maps keep the SPEC's 1/(N p) scale; the overlay reads [0, 1], so stretch for display only
      // (the raw map written beside it is untouched).
      const shown = attribution.kind === 'heatmap' ? stretchToUnit(map) : map;
      const picture: RgbImage =
        attribution.kind === 'heatmap'
          ? overlayHeatmap(prepared[i].image, shown, mw, mh, { colormap: job.colormap, alpha: 0.5 })
          : gradientToImage(map, c, mh, mw);
      const out = outputs.find((o) => o.image === stems[i] && o.method === method)!;
      await writePng(join(job.outDir, out.png), picture, { force: job.force });
      await writeSafetensorsFile(
        join(job.outDir, out.raw),
        { map: { dtype: 'F32', shape: [c, mh, mw], data: map } },
        {
          method: method.name,
          kind: attribution.kind,
          target: String(attribution.targets[i]),
          layer: attribution.layer ?? '',
          image: job.images[i],
          model: model.info.architecture,
        },
        { force: job.force },
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
  await writeFile(report, html, { flag: job.force ? 'w' : 'wx' });
  if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.map((m) => m.name).join(', ')}`);
  console.log(`wrote ${outputs.length * 2 + stems.length} files and ${report}`);
  return report;
}

function findMethodRefusal(model: Model, m: MethodEntry): never {
  throw new UsageError(
    `method ${m.name} does not apply to ${model.info.architecture}${m.name === 'cam' ? ': CAM needs a global-average-pool + linear head (use grad-cam)' : ''}`,
  );
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
