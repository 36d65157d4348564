import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { gradientToImage, overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel } from '../image/preprocess.js';
import { parseColormapName, type ColormapName } from '../image/colormap.js';
import type { RgbImage } from '../image/image.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { METHODS, findMethod, type MethodEntry, type MethodRunOptions } from '../methods/registry.js';
import { topPredictions, type Prediction } from '../api/predictions.js';
import { explainReport, type ExplainRow } from '../report/explain-report.js';
import { stretchToUnit } from '../util/stretch.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { checkMethodOptions, METHOD_OPTION_FLAGS, METHOD_OPTIONS_HELP, parseMethodOptions } from './method-options.js';
import { Progress } from './progress.js';

export const EXPLAIN_HELP = `layertracer explain --weights FILE --image FILE... [options]

Explains each image's prediction with one or every attribution method; prints the top classes,
writes a PNG overlay and the raw float32 map (safetensors) per method and image, and an HTML page
with all methods side by side.

  --weights FILE     model weights (.safetensors, from tools/export_weights.py or weights/)
  --image FILE       an image (PNG or JPEG); repeat for several, they run as one batch
  --method NAME|all  ${METHODS.map((m) => m.name).join(', ')}, or all (default);
                     also the model-free baselines random, centre-gaussian, edge
  --layer NAME       layer for the CAM-family methods (PyTorch module name, e.g. layer4, features.29);
                     default: the model's last convolutional stage
  --target CLASS     top1 (default), a class index, or a class name; repeat to explain several classes
                     (one map per class, e.g. class-specific L2-CAF for each: --l2caf-mode specific)
  --top-k N          classes printed and written per image (default 5)
  --json             also write explain.json: per image the logits, the top-k classes and probabilities,
                     and every map written (method, class, layer, files)
  --colormap NAME    jet (default), turbo, viridis
  --out DIR          output folder (default out/explain)
  --force            overwrite existing output files (never done otherwise)
  -h, --help         this text

${METHOD_OPTIONS_HELP}`;

interface Output {
  image: string;
  method: MethodEntry;
  /** Index into the job's targets. */
  target: number;
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
      target: { type: 'string', multiple: true },
      'top-k': { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      colormap: { type: 'string', default: 'jet' },
      ...METHOD_OPTION_FLAGS,
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
  const methodOptions = parseMethodOptions(values);
  const topK = Number(values['top-k']);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError(`--top-k must be a positive integer, got "${values['top-k']}"`);
  const targetTexts = values.target?.length ? values.target : ['top1'];

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    checkMethodOptions(model, methodOptions);
    const targets = targetTexts.map((t) => parseTarget(t, model.info.classes));
    if (new Set(targets).size !== targets.length) throw new UsageError(`--target names a class twice (${targetTexts.join(', ')})`);
    await explain(engine, model, {
      images: values.image,
      methods,
      layer: values.layer,
      targets,
      colormap,
      methodOptions,
      topK: Math.min(topK, model.numClasses),
      json: values.json,
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
  /** Classes to explain, each with its own map per method and image. */
  targets: (number | 'top1')[];
  colormap: ColormapName;
  /** Method options (RISE masks, SmoothGrad samples, ...); target and layer come from the job. */
  methodOptions?: Omit<MethodRunOptions, 'target' | 'layer'>;
  /** Classes printed (and written with --json) per image; default 5. */
  topK?: number;
  /** Also write explain.json (logits, top-k, the maps written). */
  json?: boolean;
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
  // One target keeps the plain names; several add the class to each file name.
  const suffix = (t: number) => (job.targets.length === 1 ? '' : `.${targetSlug(model, job.targets[t])}`);
  const outputs: Output[] = stems.flatMap((stem) =>
    methods.flatMap((method) =>
      job.targets.map((_, t) => ({
        image: stem,
        method,
        target: t,
        png: `${stem}.${method.name}${suffix(t)}.png`,
        raw: `${stem}.${method.name}${suffix(t)}.safetensors`,
      })),
    ),
  );
  const report = join(job.outDir, 'index.html');
  const jsonPath = join(job.outDir, 'explain.json');
  const inputs = stems.map((s) => `${s}.input.png`);
  // Refuse before any work: nothing the user has is overwritten without --force.
  if (!job.force) {
    const clash = [
      report,
      ...(job.json ? [jsonPath] : []),
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

  const predictions = await topPredictions(model, x, job.topK ?? 5);
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
  const json: ExplainJson['images'] = job.json ? await imageRecords(model, x, job.images, predictions) : [];
  const progress = new Progress('explain', methods.length * job.targets.length);
  for (const [k, method] of methods.entries()) {
    for (const [t, target] of job.targets.entries()) {
      progress.update(k * job.targets.length + t, method.name);
      const attribution = await method.run(model, x, {
        ...job.methodOptions,
        target,
        layer: method.usesLayer ? layer : undefined,
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
        const out = outputs.find((o) => o.image === stems[i] && o.method === method && o.target === t)!;
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
          method: cellKey(method, t, job.targets.length),
          png: out.png,
          target: method.name === 'guided-backprop' || !attribution.layer ? targetName : `${targetName} @ ${attribution.layer}`,
        });
        json[i]?.maps.push({
          method: method.name,
          kind: attribution.kind,
          target: attribution.targets[i],
          targetLabel: targetName,
          ...(attribution.layer === undefined ? {} : { layer: attribution.layer }),
          png: out.png,
          raw: out.raw,
        });
      }
      engine.release(attribution.maps);
    }
  }
  progress.done();
  engine.release(x);
  const html = explainReport(
    job.title ?? 'LayerTracer explanations',
    model.info.architecture,
    layer,
    methods.flatMap((m) =>
      job.targets.map((target, t) => ({
        name: cellKey(m, t, job.targets.length),
        title: job.targets.length === 1 ? m.title : `${m.title} (${target === 'top1' ? 'top-1' : model.info.classes[target]})`,
      })),
    ),
    rows,
  );
  await writeFile(report, html, { flag: job.force ? 'w' : 'wx' });
  if (job.json) {
    const doc: ExplainJson = { model: model.info.architecture, classes: model.info.classes, images: json };
    await writeFile(jsonPath, JSON.stringify(doc, null, 2), { flag: job.force ? 'w' : 'wx' });
  }
  if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.map((m) => m.name).join(', ')}`);
  console.log(`wrote ${outputs.length * 2 + stems.length} files and ${report}${job.json ? ` and ${jsonPath}` : ''}`);
  return report;
}

/** What explain.json holds. */
export interface ExplainJson {
  model: string;
  classes: string[];
  images: {
    image: string;
    logits: number[];
    top: { index: number; label: string; prob: number }[];
    maps: { method: string; kind: string; target: number; targetLabel: string; layer?: string; png: string; raw: string }[];
  }[];
}

async function imageRecords(model: Model, x: Tensor, images: string[], predictions: Prediction[][]): Promise<ExplainJson['images']> {
  const logits = await model.logits(x);
  const k = model.numClasses;
  return images.map((image, i) => ({
    image,
    logits: Array.from(logits.subarray(i * k, (i + 1) * k)),
    top: predictions[i].map((p) => ({ index: p.index, label: p.label, prob: p.prob })),
    maps: [],
  }));
}

/** The report's column for a method and target (the method's name alone when there is one target). */
function cellKey(m: MethodEntry, t: number, targets: number): string {
  return targets === 1 ? m.name : `${m.name}#${t}`;
}

/** A file-name-safe class tag: the class name (or index) for a class, top1 for each image's top class. */
function targetSlug(model: Model, target: number | 'top1'): string {
  if (target === 'top1') return 'top1';
  const name = model.info.classes[target] ?? String(target);
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || String(target);
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
