import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { gradientToImage, overlayHeatmap, overlayHeatmapOnOriginal, pictureOnOriginal } from '../image/overlay.js';
import { preprocessForModel, type Region } from '../image/preprocess.js';
import { parseColormapName, type ColormapName } from '../image/colormap.js';
import type { RgbImage } from '../image/image.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { topPredictions } from '../api/predictions.js';
import { methodCost, reportsTrueProgress } from '../methods/cost.js';
import { METHODS, findMethod, type MethodEntry } from '../methods/registry.js';
import { riseMasksForBudget } from '../methods/rise-budget.js';
import { explainReport, type ExplainRow, type ReportMethod } from '../report/explain-report.js';
import { stretchToUnit } from '../util/stretch.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { Progress } from './progress.js';

/** --rise-masks auto: the budget's bounds, and the default budget per image. */
export const RISE_AUTO_MIN = 100;
export const RISE_AUTO_MAX = 4000;
export const EXPLAIN_RISE_SECONDS = 10;

export type OverlaySize = 'original' | 'model';

export const EXPLAIN_HELP = `layertracer explain --weights FILE --image FILE... [options]

Explains each image's prediction with one or every attribution method; prints the top-5 classes,
writes a PNG overlay and the raw float32 map (safetensors) per method and image, and an HTML page
with all methods side by side, a colour legend, each method's time and how to read it.

  --weights FILE         model weights (.safetensors, from tools/export_weights.py or weights/)
  --image FILE           an image (PNG or JPEG); repeat for several, they run as one batch
  --method NAME|all      ${METHODS.map((m) => m.name).join(', ')}, or all (default)
  --layer NAME           layer for the CAM-family methods (PyTorch module name, e.g. layer4, features.29);
                         default: the model's last convolutional stage
  --target CLASS         top1 (default), a class index, or a class name
  --rise-masks N|auto    masks for RISE; auto (default): as many as fit --rise-seconds on this model and
                         adapter (measured), between ${RISE_AUTO_MIN} and ${RISE_AUTO_MAX}, a multiple of 50
  --rise-seconds S       time budget of RISE per image for --rise-masks auto (default ${EXPLAIN_RISE_SECONDS})
  --colormap NAME        jet (default), turbo, viridis
  --alpha A              heatmap opacity over the image, 0..1 (default 0.5)
  --overlay-size SIZE    original (default): overlays at the image's own size, the map stretched over
                         the part the model saw; model: at the model's input size
  --out DIR              output folder (default out/explain)
  --force                overwrite existing output files (never done otherwise)
  -h, --help             this text
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
      alpha: { type: 'string', default: '0.5' },
      'overlay-size': { type: 'string', default: 'original' },
      'rise-masks': { type: 'string', default: 'auto' },
      'rise-seconds': { type: 'string', default: String(EXPLAIN_RISE_SECONDS) },
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
  const alpha = parseAlpha(values.alpha!);
  const overlaySize = parseOverlaySize(values['overlay-size']!);
  const riseMasks = parseRiseMasks(values['rise-masks']!, values['rise-seconds']!);

  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    await explain(engine, model, {
      images: values.image,
      methods,
      layer: values.layer,
      target: parseTarget(values.target, model.info.classes),
      colormap,
      alpha,
      overlaySize,
      riseMasks,
      outDir: values.out!,
      force: values.force!,
    });
    model.release();
  } finally {
    engine.destroy();
  }
}

export function parseAlpha(text: string): number {
  const alpha = Number(text);
  if (text.trim() === '' || !(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alpha must be a number from 0 to 1, got "${text}"`);
  return alpha;
}

export function parseOverlaySize(text: string): OverlaySize {
  if (text !== 'original' && text !== 'model') throw new UsageError(`--overlay-size must be original or model, got "${text}"`);
  return text;
}

/** A fixed count, or a time budget per image that --rise-masks auto turns into a count once the model is loaded. */
export type RiseMaskSetting = { masks: number } | { seconds: number };

export function parseRiseMasks(masks: string, seconds: string): RiseMaskSetting {
  if (masks === 'auto') {
    const s = Number(seconds);
    if (!(s > 0) || !Number.isFinite(s)) throw new UsageError(`--rise-seconds must be a positive number of seconds, got "${seconds}"`);
    return { seconds: s };
  }
  const n = Number(masks);
  if (!/^\d+$/.test(masks) || n < 1) throw new UsageError(`--rise-masks must be a positive integer or auto, got "${masks}"`);
  return { masks: n };
}

/** The mask count for a setting: fixed, or measured on this model and adapter (printed, so a run can be repeated). */
export async function resolveRiseMasks(model: Model, setting: RiseMaskSetting): Promise<number> {
  if ('masks' in setting) return setting.masks;
  const budget = await riseMasksForBudget(model, { seconds: setting.seconds, min: RISE_AUTO_MIN, max: RISE_AUTO_MAX });
  console.log(
    `RISE: ${budget.masks} masks per image (auto: ${setting.seconds} s at ${budget.masksPerSecond.toFixed(0)} masked images/s measured here; --rise-masks N fixes the count)`,
  );
  return budget.masks;
}

export interface ExplainJob {
  images: string[];
  methods: MethodEntry[];
  layer?: string;
  target: number | 'top1';
  colormap: ColormapName;
  /** Heatmap opacity (default 0.5). */
  alpha?: number;
  /** Overlay PNGs at the image's own size (default) or the model's input size. */
  overlaySize?: OverlaySize;
  /** RISE masks: a count, or a time budget per image (default 10 s). */
  riseMasks?: RiseMaskSetting;
  outDir: string;
  force: boolean;
  title?: string;
}

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
  const originals = await Promise.all(job.images.map((path) => readImageFile(path)));
  const prepared = originals.map((img) =>
    preprocessForModel(img, { inputSize: [h, w], mean: model.info.mean, std: model.info.std, resize: model.info.resize }),
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
  const riseMasks = methods.some((m) => m.name === 'rise')
    ? await resolveRiseMasks(model, job.riseMasks ?? { seconds: EXPLAIN_RISE_SECONDS })
    : undefined;

  const rows: ExplainRow[] = stems.map((stem, i) => ({
    image: basename(job.images[i]),
    inputPng: inputs[i],
    predictions: predictions[i],
    cells: [],
  }));
  const timed: ReportMethod[] = [];
  const progress = new Progress(
    'explain',
    methods.map((m) => ({ kind: m.name, cost: methodCost(m.name, { masks: riseMasks }) * stems.length })),
  );
  for (const [k, method] of methods.entries()) {
    progress.update(k, method.name);
    const t0 = performance.now();
    const attribution = await method.run(model, x, {
      target: job.target,
      layer: method.usesLayer ? layer : undefined,
      masks: riseMasks,
      onProgress: (done, total) =>
        progress.update(k, `${method.name} ${done}/${total}`, reportsTrueProgress(method.name) ? done / total : 0),
    });
    const maps = await attribution.maps.readF32();
    timed.push({ name: method.name, title: method.title, seconds: (performance.now() - t0) / 1000 });
    const [, c, mh, mw] = attribution.maps.shape;
    for (let i = 0; i < stems.length; i++) {
      const map = maps.slice(i * c * mh * mw, (i + 1) * c * mh * mw);
      const picture = renderMap(attribution.kind, map, c, mh, mw, {
        input: prepared[i].image,
        original: overlaySize === 'original' ? { image: originals[i], region: prepared[i].region } : undefined,
        colormap: job.colormap,
        alpha,
      });
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
          ...(method.name === 'rise' ? { masks: String(riseMasks) } : {}),
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
  const html = explainReport({
    title: job.title ?? 'LayerTracer explanations',
    model: model.info.architecture,
    layer,
    colormap: job.colormap,
    methods: timed,
    rows,
    facts: [
      `${stems.length} image${stems.length === 1 ? '' : 's'} in one batch`,
      ...(riseMasks ? [`RISE ${riseMasks} masks`] : []),
      `overlays at the ${overlaySize === 'original' ? "image's own" : "model's input"} size, opacity ${alpha}`,
      `adapter ${engine.adapter.description || engine.adapter.architecture || 'unknown'}${engine.adapter.isSoftware ? ' (software)' : ''}`,
      'the first method also compiles the GPU kernels',
    ],
  });
  await writeFile(report, html, { flag: job.force ? 'w' : 'wx' });
  if (skipped.length) console.log(`skipped (not applicable to ${model.info.architecture}): ${skipped.map((m) => m.name).join(', ')}`);
  console.log(`wrote ${outputs.length * 2 + stems.length} files and ${report}`);
  return { report, rows, methods: timed, riseMasks, layer };
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
  // RISE maps keep the SPEC's 1/(N p) scale; the overlay reads [0, 1], so stretch for display only
  // (the raw map written beside it is untouched).
  const shown = stretchToUnit(map);
  const options = { colormap: to.colormap, alpha: to.alpha };
  return to.original
    ? overlayHeatmapOnOriginal(to.original.image, shown, w, h, to.original.region, options)
    : overlayHeatmap(to.input, shown, w, h, options);
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
