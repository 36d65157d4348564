import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import type { ClassMeans } from '../e2cm/class-means.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { upscaleNearest } from '../image/image.js';
import { overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel, type ModelInput } from '../image/preprocess.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { layerTracer, type LayerTracerResult } from '../methods/layertracer.js';
import { escapeHtml, page } from '../report/html.js';
import { attentionStrip } from '../report/strip.js';
import { assertFiniteResult } from '../util/finite.js';
import { stretchToUnit } from '../util/stretch.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, FORCE, outDir, TARGET, WEIGHTS } from './common-options.js';
import { loadModelFile, parseTarget, MAX_WEIGHTS_BYTES } from './load-model.js';
import { Progress } from './progress.js';

export const TRACE = defineCommand({
  name: 'trace',
  summary: 'LayerTracer: layer-wise RISE maps from class-mean confidences, with the E2CM exit',
  usage: '--weights FILE --means FILE --image FILE... [options]',
  description: `LayerTracer: RISE masks, one forward pass per masked image yielding every exit's feature; each exit's
map weights the masks by the E2CM class-mean confidence of the target class there. Writes the strip
"original, early, mid, final" per image (the layer where E2CM would exit framed in red), the raw maps
(safetensors) and an HTML page.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    means: { type: 'file', required: true, help: 'class means from `layertracer class-means`' },
    image: { type: 'file', arg: 'FILE', required: true, multiple: true, help: 'an image (PNG or JPEG); repeat for several' },
    target: TARGET,
    masks: { type: 'int', arg: 'N', min: 1, max: 100_000, default: 4000, help: 'number of RISE masks' },
    cells: { type: 'int', arg: 'S', min: 1, max: 64, default: 7, help: 'mask grid cells per side' },
    keep: { type: 'number', arg: 'P', above: 0, below: 1, default: 0.5, help: 'mask keep probability' },
    seed: { type: 'int', arg: 'N', min: 0, max: 0xffff_ffff, default: 0, help: 'mask seed' },
    batch: batchOption(64, 'masked images per forward pass'),
    threshold: { type: 'number', arg: 'T', min: 0, default: 0.9, help: 'E2CM exit threshold for the exit marker' },
    'all-exits': { type: 'flag', help: 'put every exit (and the classifier output) in the strip' },
    out: outDir('trace'),
    force: FORCE,
  },
  async run(values, out) {
    out.expect(traceOutputNames(values.image));
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      const means = classMeansFromFile(await readSafetensorsFile(values.means, { maxBytes: MAX_WEIGHTS_BYTES }));
      await traceImages(engine, model, means, values.image, {
        target: parseTarget(values.target, model.info.classes),
        masks: values.masks,
        s: values.cells,
        p: values.keep,
        seed: values.seed,
        batchSize: values.batch,
        threshold: values.threshold,
        allExits: values['all-exits'],
        outDir: out.dir,
        show: out.show,
      });
      model.release();
    } finally {
      engine.destroy();
    }
  },
});

export const TRACE_HELP = TRACE.help;
export const traceCommand = (argv: string[]): Promise<void> => TRACE.invoke(argv);

function traceStems(images: string[]): string[] {
  return images.map((p, i) => `${basename(p, extname(p))}${images.indexOf(p) === i ? '' : `-${i}`}`);
}

/** Every file trace writes for these images, relative to the output folder. */
export function traceOutputNames(images: string[]): string[] {
  return ['layertracer.html', ...traceStems(images).flatMap((s) => [`${s}.layertracer.png`, `${s}.layertracer.safetensors`])];
}

export interface TraceJob {
  target: number | 'top1';
  masks: number;
  s: number;
  p: number;
  seed: number;
  batchSize: number;
  threshold: number;
  allExits: boolean;
  /** Where to write (the command's staging folder). */
  outDir: string;
  /** How a path under the staging folder is named in messages and metadata (its final place). */
  show?: (path: string) => string;
}

/** Runs LayerTracer on image files and writes strips, raw maps and a page; returns the page path. */
export async function traceImages(engine: Engine, model: Model, means: ClassMeans, images: string[], job: TraceJob): Promise<string> {
  const show = job.show ?? ((p: string) => p);
  const stems = traceStems(images);
  const report = join(job.outDir, 'layertracer.html');
  await mkdir(job.outDir, { recursive: true });
  const [h, w] = model.info.inputSize;
  // One at a time: a full-size photo is dropped as soon as it is reduced to the model's input.
  const prepared: ModelInput[] = [];
  for (const p of images) {
    prepared.push(
      preprocessForModel(await readImageFile(p), {
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
  const progress = new Progress('layertracer', job.masks * images.length);
  const result = await layerTracer(model, x, means, { ...job, onProgress: (d) => progress.update(d) });
  progress.done();
  engine.release(x);

  const shown = job.allExits ? result.layers : stripLayers(means.exits);
  const rows: string[] = [];
  for (const [i, stem] of stems.entries()) {
    const maps = new Map<string, Float32Array>();
    for (const l of result.layers) maps.set(l, (await result.maps.get(l)!.readF32()).slice(i * h * w, (i + 1) * h * w));
    for (const [l, map] of maps) assertFiniteResult(map, `the LayerTracer map at ${l}`);
    const scale = Math.max(1, Math.ceil(128 / w));
    const tiles = shown.map((l) => ({
      image: upscaleNearest(overlayHeatmap(prepared[i].image, stretchToUnit(maps.get(l)!), w, h, { colormap: 'jet', alpha: 0.5 }), scale),
      isExit: l === result.exitLayer[i],
    }));
    await writePng(join(job.outDir, `${stem}.layertracer.png`), attentionStrip(upscaleNearest(prepared[i].image, scale), tiles));
    await writeSafetensorsFile(
      join(job.outDir, `${stem}.layertracer.safetensors`),
      Object.fromEntries(result.layers.map((l) => [`map:${l}`, { dtype: 'F32' as const, shape: [h, w], data: maps.get(l)! }])),
      {
        method: 'layertracer',
        target: String(result.targets[i]),
        exit_layer: result.exitLayer[i] ?? 'none',
        layers: JSON.stringify(result.layers),
        masks: String(job.masks),
        image: show(images[i]),
      },
    );
    const exit = result.exitLayer[i] ?? 'none (final classifier)';
    console.log(`${show(images[i])}: target ${model.info.classes[result.targets[i]]}; E2CM exits at ${exit}`);
    rows.push(stripRow(show(images[i]), `${stem}.layertracer.png`, model.info.classes[result.targets[i]], exit, shown, result, i));
  }
  result.release();
  await writeFile(
    report,
    page(
      'LayerTracer',
      `<h1>LayerTracer</h1><div class="meta">${escapeHtml(model.info.architecture)} · ${job.masks} masks, s=${job.s}, p=${job.p}, seed ${job.seed} · red frame: the exit E2CM takes (threshold ${job.threshold})</div>${rows.join('\n')}`,
    ),
    { flag: 'wx' },
  );
  console.log(`wrote ${show(report)}`);
  return report;
}

/** early = the first block after the stem, mid = the middle exit, final = the last exit. */
export function stripLayers(exits: string[]): string[] {
  const picks = [exits[Math.min(1, exits.length - 1)], exits[Math.floor(exits.length / 2)], exits[exits.length - 1]];
  return [...new Set(picks)];
}

function stripRow(image: string, png: string, target: string, exit: string, shown: string[], result: LayerTracerResult, i: number): string {
  const conf = result.layers
    .filter((l) => l !== 'output')
    .map((l, j) => `${escapeHtml(l)} ${(result.confidence[i][j] * 100).toFixed(0)}%`)
    .join(' · ');
  return `<h2>${escapeHtml(image)} → ${escapeHtml(target)}</h2><div class="meta">original, ${shown.map(escapeHtml).join(', ')} · exit: ${escapeHtml(exit)}</div><img src="${escapeHtml(png)}" alt="strip"><div class="note">E2CM confidence per exit: ${conf}</div>`;
}
