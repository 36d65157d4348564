import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { imagesPerPassFor } from '../graph/pass-size.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { gradientToImage, overlayHeatmap, overlayHeatmapOnOriginal, pictureOnOriginal } from '../image/overlay.js';
import { preprocessForModel, type ModelInput, type Region } from '../image/preprocess.js';
import { COLORMAP_NAMES, type ColormapName } from '../image/colormap.js';
import type { RgbImage } from '../image/image.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { BASELINES, METHODS, findMethod, type MethodEntry, type MethodRunOptions } from '../methods/registry.js';
import { topPredictions, type Prediction } from '../api/predictions.js';
import { methodCost, reportsTrueProgress } from '../methods/cost.js';
import { explainReport, type ExplainRow, type ReportMethod } from '../report/explain-report.js';
import { assertFiniteResult } from '../util/finite.js';
import { stretchToUnit } from '../util/stretch.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, FORCE, LAYER, outDir, TARGET, WEIGHTS } from './common-options.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { checkMethodOptions, METHOD_OPTIONS, methodRunOptions } from './method-options.js';
import { Progress } from './progress.js';
import { assertMeansFitModel, calibrationNote, type ClassMeans } from '../e2cm/class-means.js';
import { e2cmExits, type ExitDecisions } from '../e2cm/exit-decisions.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { MAX_WEIGHTS_BYTES } from '../io/limits.js';
import { resolveRiseMasks, riseMaskOptions, riseMaskSetting, type RiseMaskSetting } from './rise-masks-option.js';

/** RISE's default time budget per image in explain. */
export const EXPLAIN_RISE_SECONDS = 10;

/** Overlays at the picture's own size, or at the model's input size. */
export type OverlaySize = 'original' | 'model';

export const EXPLAIN = defineCommand({
  name: 'explain',
  summary: 'explain images with attribution methods; PNG overlays, raw maps, HTML report',
  usage: '--weights FILE --image FILE... [options]',
  description: `Explains each image's prediction with one or every attribution method; prints the top classes,
writes a PNG overlay and the raw float32 map (safetensors) per method, class and image, and an HTML page
with all methods side by side, a colour legend, each method's time and how to read it. Method options
are read only by their method; a method's own default (in brackets) applies when one is left out.`,
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
      values: ['all', ...METHODS.map((m) => m.name), ...BASELINES.map((m) => m.name)],
      default: 'all',
      help: `${METHODS.map((m) => m.name).join(', ')}, or all;\nalso the model-free baselines ${BASELINES.map((m) => m.name).join(', ')}`,
    },
    layer: {
      ...LAYER,
      help: "layer for the CAM-family methods (PyTorch module name, e.g. layer4, features.29);\ndefault: the model's last convolutional stage",
    },
    target: {
      ...TARGET,
      multiple: true,
      help: 'top1 (default), a class index, or a class name; repeat to explain several classes\n(one map per class, e.g. class-specific L2-CAF for each: --l2caf-mode specific)',
    },
    'top-k': { type: 'int', arg: 'N', min: 1, max: 100_000, default: 5, help: 'classes printed and written per image' },
    means: {
      type: 'file',
      help: 'E2CM class means (from `layertracer class-means`): also say where each image would exit the\nnetwork, by the per-exit thresholds calibrated into them',
    },
    json: {
      type: 'flag',
      help: 'also write explain.json: per image the logits, the top-k classes and probabilities,\nand every map written (method, class, layer, files)',
    },
    colormap: { type: 'enum', arg: 'NAME', values: COLORMAP_NAMES, default: 'jet', help: COLORMAP_NAMES.join(', ') },
    alpha: { type: 'number', arg: 'A', min: 0, max: 1, default: 0.5, help: 'heatmap opacity over the image' },
    'overlay-size': {
      type: 'enum',
      values: ['original', 'model'],
      default: 'original',
      help: "original: overlays at the image's own size, the map stretched over the part the model saw;\nmodel: at the model's input size",
    },
    ...METHOD_OPTIONS,
    ...riseMaskOptions(EXPLAIN_RISE_SECONDS),
    out: outDir('explain'),
    force: FORCE,
  },
  async run(values, out) {
    const methods = values.method === 'all' ? METHODS : [findMethod(values.method)];
    const methodOptions = methodRunOptions({ ...values, 'rise-masks': undefined });
    const targetTexts = values.target.length ? values.target : ['top1'];
    out.expect(explainOutputNames(values.image, methods, values.json));
    // A broken class-means file is refused before the model is loaded; whether it fits the model, after.
    const means = values.means ? classMeansFromFile(await readSafetensorsFile(values.means, { maxBytes: MAX_WEIGHTS_BYTES })) : undefined;
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      if (means) assertMeansFitModel(means, model);
      checkMethodOptions(model, methodOptions);
      const targets = targetTexts.map((t) => parseTarget(t, model.info.classes));
      if (new Set(targets).size !== targets.length) throw new UsageError(`--target names a class twice (${targetTexts.join(', ')})`);
      await explain(engine, model, {
        images: values.image,
        methods,
        layer: values.layer,
        targets,
        colormap: values.colormap,
        alpha: values.alpha,
        overlaySize: values['overlay-size'],
        riseMasks: riseMaskSetting(values['rise-masks'], values['rise-seconds']),
        methodOptions,
        topK: Math.min(values['top-k'], model.numClasses),
        json: values.json,
        means,
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
  /** Index into the job's targets. */
  target: number;
  png: string;
  raw: string;
}

/** What {@link explain} runs: images, methods, classes and options, and where the files go. */
export interface ExplainJob {
  images: string[];
  methods: MethodEntry[];
  layer?: string;
  /** Classes to explain, each with its own map per method and image. */
  targets: (number | 'top1')[];
  colormap: ColormapName;
  /** Heatmap opacity (default 0.5). */
  alpha?: number;
  /** Overlay PNGs at the image's own size (default) or the model's input size. */
  overlaySize?: OverlaySize;
  /** RISE masks: a count, or a time budget per image (default 10 s). */
  riseMasks?: RiseMaskSetting;
  /** Method options (SmoothGrad samples, ...); target, layer and RISE's masks come from the job. */
  methodOptions?: Omit<MethodRunOptions, 'target' | 'layer' | 'masks'>;
  /** Classes printed (and written with --json) per image; default 5. */
  topK?: number;
  /** Also write explain.json (logits, top-k, the maps written). */
  json?: boolean;
  /** E2CM class means: report where each image exits, by the thresholds calibrated into them. */
  means?: ClassMeans;
  /** Where to write (the command's staging folder). */
  outDir: string;
  /** How a path under the staging folder is named in messages and metadata (its final place). */
  show?: (path: string) => string;
  title?: string;
}

/** What {@link explain} wrote and measured, for a page that summarises several runs (the demo's). */
export interface ExplainSummary {
  report: string;
  rows: ExplainRow[];
  methods: ReportMethod[];
  riseMasks?: number;
  layer: string;
}

/** Runs the job and writes the report; shared by `explain` and the demo. */
export async function explain(engine: Engine, model: Model, job: ExplainJob): Promise<ExplainSummary> {
  const layer = job.layer ?? model.defaultCamLayer;
  model.assertLayer(layer);
  const methods = job.methods.filter((m) => !m.supports || m.supports(model));
  const skipped = job.methods.filter((m) => !methods.includes(m));
  if (job.methods.length === 1 && skipped.length) findMethodRefusal(model, skipped[0]);
  const alpha = job.alpha ?? 0.5;
  const overlaySize = job.overlaySize ?? 'original';

  const show = job.show ?? ((p: string) => p);
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
  await mkdir(job.outDir, { recursive: true });

  const [h, w] = model.info.inputSize;
  // One at a time; a full-size photo is kept only when the overlays are drawn at its own size.
  const originals: RgbImage[] = [];
  const prepared: ModelInput[] = [];
  for (const path of job.images) {
    const original = await readImageFile(path);
    prepared.push(
      preprocessForModel(original, { inputSize: [h, w], mean: model.info.mean, std: model.info.std, resize: model.info.resize }),
    );
    if (overlaySize === 'original') originals.push(original);
  }
  const plane = 3 * h * w;
  const batch = new Float32Array(prepared.length * plane);
  prepared.forEach((p, i) => batch.set(p.chw, i * plane));
  // The images share passes as far as the adapter's bindings allow (graph/pass-size.ts): VGG-16 at
  // 224 x 224 takes 10 a pass on a 128 MiB binding limit, so 30 photos run as three groups.
  const perPass = imagesPerPassFor(model, [3, h, w], prepared.length);
  // Uploaded once, as the whole batch was before; every method runs on the same tensors.
  const groups = Array.from({ length: Math.ceil(prepared.length / perPass) }, (_, k) => {
    const first = k * perPass;
    const count = Math.min(perPass, prepared.length - first);
    const x = engine.upload(batch.subarray(first * plane, (first + count) * plane), [count, 3, h, w], 'images');
    return { first, count, x };
  });
  const eachGroup = async <T>(work: (x: Tensor, group: { first: number; count: number }) => Promise<T[]>): Promise<T[]> => {
    const all: T[] = [];
    for (const group of groups) all.push(...(await work(group.x, group)));
    return all;
  };

  const predictions = await eachGroup((x) => topPredictions(model, x, job.topK ?? 5));
  assertFiniteResult(
    predictions.flatMap((p) => p.map((q) => q.prob)),
    'the class probabilities',
  );
  const means = job.means;
  const exits = means ? await eachGroup(async (x) => describeExits(await e2cmExits(model, x, means), means)) : [];
  predictions.forEach((preds, i) => {
    console.log(`${show(job.images[i])}:`);
    for (const p of preds) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${p.label}`);
    if (exits[i]) console.log(`  E2CM: ${exits[i]}`);
  });
  for (const [i, p] of prepared.entries()) await writePng(join(job.outDir, inputs[i]), p.image);

  const rows: ExplainRow[] = stems.map((stem, i) => ({
    image: basename(job.images[i]),
    inputPng: inputs[i],
    predictions: predictions[i],
    ...(exits[i] ? { exit: exits[i] } : {}),
    cells: [],
  }));
  const riseMasks = methods.some((m) => m.name === 'rise')
    ? await resolveRiseMasks(model, job.riseMasks ?? { seconds: EXPLAIN_RISE_SECONDS })
    : undefined;
  const json: ExplainJson['images'] = job.json
    ? await eachGroup((x, { first, count }) =>
        imageRecords(model, x, job.images.slice(first, first + count), predictions.slice(first, first + count), show),
      )
    : [];
  exits.forEach((exit, i) => {
    if (json[i]) json[i].exit = exit;
  });
  const seconds = new Map<MethodEntry, number>();
  const costs = { ...job.methodOptions, masks: riseMasks };
  const progress = new Progress(
    'explain',
    methods.flatMap((m) => job.targets.map(() => ({ kind: m.name, cost: methodCost(m.name, costs) * stems.length }))),
  );
  for (const [k, method] of methods.entries()) {
    for (const [t, target] of job.targets.entries()) {
      const step = k * job.targets.length + t;
      progress.update(step, method.name);
      await eachGroup(async (x, { first, count }) => {
        const t0 = performance.now();
        const attribution = await method.run(model, x, {
          ...job.methodOptions,
          masks: riseMasks,
          target,
          layer: method.usesLayer ? layer : undefined,
          onProgress: (done, total) =>
            progress.update(
              step,
              `${method.name} ${done}/${total}${groups.length > 1 ? ` (images ${first + 1}-${first + count})` : ''}`,
              reportsTrueProgress(method.name) ? (first + (done / total) * count) / stems.length : 0,
            ),
        });
        const maps = await attribution.maps.readF32();
        seconds.set(method, (seconds.get(method) ?? 0) + (performance.now() - t0) / 1000);
        assertFiniteResult(maps, `the ${method.name} maps`);
        const [, c, mh, mw] = attribution.maps.shape;
        for (let j = 0; j < count; j++) {
          const i = first + j;
          const map = maps.slice(j * c * mh * mw, (j + 1) * c * mh * mw);
          const picture = renderMap(attribution.kind, map, c, mh, mw, {
            input: prepared[i].image,
            original: overlaySize === 'original' ? { image: originals[i], region: prepared[i].region } : undefined,
            colormap: job.colormap,
            alpha,
          });
          const out = outputs.find((o) => o.image === stems[i] && o.method === method && o.target === t)!;
          await writePng(join(job.outDir, out.png), picture);
          await writeSafetensorsFile(
            join(job.outDir, out.raw),
            { map: { dtype: 'F32', shape: [c, mh, mw], data: map } },
            {
              method: method.name,
              kind: attribution.kind,
              target: String(attribution.targets[j]),
              layer: attribution.layer ?? '',
              image: show(job.images[i]),
              model: model.info.architecture,
              ...(method.name === 'rise' ? { masks: String(riseMasks) } : {}),
            },
          );
          const targetName = model.info.classes[attribution.targets[j]] ?? String(attribution.targets[j]);
          rows[i].cells.push({
            method: cellKey(method, t, job.targets.length),
            png: out.png,
            target: method.name === 'guided-backprop' || !attribution.layer ? targetName : `${targetName} @ ${attribution.layer}`,
          });
          json[i]?.maps.push({
            method: method.name,
            kind: attribution.kind,
            target: attribution.targets[j],
            targetLabel: targetName,
            ...(attribution.layer === undefined ? {} : { layer: attribution.layer }),
            png: out.png,
            raw: out.raw,
          });
        }
        engine.release(attribution.maps);
        return [];
      });
    }
  }
  progress.done();
  for (const { x } of groups) engine.release(x);
  // One column per method and class; a method's time is over all its classes.
  const reportMethods: ReportMethod[] = methods.flatMap((m) =>
    job.targets.map((target, t) => ({
      name: cellKey(m, t, job.targets.length),
      title: job.targets.length === 1 ? m.title : `${m.title} (${target === 'top1' ? 'top-1' : model.info.classes[target]})`,
      seconds: job.targets.length === 1 ? seconds.get(m) : undefined,
    })),
  );
  const html = explainReport({
    title: job.title ?? 'LayerTracer explanations',
    model: model.info.architecture,
    layer,
    colormap: job.colormap,
    methods: reportMethods,
    rows,
    facts: [
      `${stems.length} image${stems.length === 1 ? '' : 's'} in one batch`,
      ...(riseMasks ? [`RISE ${riseMasks} masks`] : []),
      `overlays at the ${overlaySize === 'original' ? "image's own" : "model's input"} size, opacity ${alpha}`,
      `adapter ${engine.adapter.description || engine.adapter.architecture || 'unknown'}${engine.adapter.isSoftware ? ' (software)' : ''}`,
      'the first method also compiles the GPU kernels',
    ],
  });
  await writeFile(report, html, { flag: 'wx' });
  if (job.json) {
    const doc: ExplainJson = { model: model.info.architecture, classes: model.info.classes, images: json };
    await writeFile(jsonPath, JSON.stringify(doc, null, 2), { flag: 'wx' });
  }
  if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.map((m) => m.name).join(', ')}`);
  console.log(`wrote ${outputs.length * 2 + stems.length} files and ${show(report)}${job.json ? ` and ${show(jsonPath)}` : ''}`);
  return { report, rows, methods: reportMethods, riseMasks, layer };
}

/** One line per image: the exit E2CM takes (with its confidence and threshold), or why none. */
function describeExits(d: ExitDecisions, means: ClassMeans): string[] {
  const note = calibrationNote(means);
  return d.exitLayer.map((layer, i) => {
    if (!layer) return `no exit is confident enough; the final classifier answers${note ? ` (${note})` : ''}`;
    const j = d.exits.indexOf(layer);
    return `exits at ${layer} (confidence ${d.confidence[i][j].toFixed(3)} > threshold ${d.thresholds[j]})${note ? ` (${note})` : ''}`;
  });
}

interface RenderTarget {
  /** The picture the model saw. */
  input: RgbImage;
  /** Draw over the original picture instead, the map stretched over the region the model saw. */
  original?: { image: RgbImage; region: Region };
  colormap: ColormapName;
  alpha: number;
}

/** One method's map for one image as a picture: a heatmap over the image, or a signed gradient as RGB. */
function renderMap(kind: 'heatmap' | 'signed', map: Float32Array, c: number, h: number, w: number, to: RenderTarget): RgbImage {
  if (kind === 'signed') {
    const picture = gradientToImage(map, c, h, w);
    return to.original ? pictureOnOriginal(to.original.image, picture, to.original.region) : picture;
  }
  // RISE maps keep their 1/(N p) scale (docs/design.md §2.9); the overlay reads [0, 1], so stretch for
  // display only (the raw map written beside it is untouched).
  const shown = stretchToUnit(map);
  const options = { colormap: to.colormap, alpha: to.alpha };
  return to.original
    ? overlayHeatmapOnOriginal(to.original.image, shown, w, h, to.original.region, options)
    : overlayHeatmap(to.input, shown, w, h, options);
}

/** What explain.json holds. */
export interface ExplainJson {
  model: string;
  classes: string[];
  images: {
    image: string;
    logits: number[];
    top: { index: number; label: string; prob: number }[];
    /** With --means: where E2CM lets the image leave the network. */
    exit?: string;
    maps: { method: string; kind: string; target: number; targetLabel: string; layer?: string; png: string; raw: string }[];
  }[];
}

async function imageRecords(
  model: Model,
  x: Tensor,
  images: string[],
  predictions: Prediction[][],
  show: (path: string) => string,
): Promise<ExplainJson['images']> {
  const logits = await model.logits(x);
  const k = model.numClasses;
  return images.map((image, i) => ({
    image: show(image),
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

/**
 * The files explain writes for these images and methods with one target, relative to the output folder
 * (checked before the work; with several targets the class-tagged names are checked when committing).
 */
export function explainOutputNames(images: string[], methods: readonly MethodEntry[], json = false): string[] {
  const stems = uniqueStems(images);
  return [
    'index.html',
    ...(json ? ['explain.json'] : []),
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
