import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import type { ClassMeans } from '../e2cm/class-means.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { upscaleNearest } from '../image/image.js';
import { overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel } from '../image/preprocess.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { layerTracer, type LayerTracerResult } from '../methods/layertracer.js';
import { colourLegendHtml } from '../report/colour-bar.js';
import { escapeHtml, page } from '../report/html.js';
import { attentionStrip } from '../report/strip.js';
import { stretchToUnit } from '../util/stretch.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { Progress } from './progress.js';

export const TRACE_HELP = `layertracer trace --weights FILE --means FILE --image FILE... [options]

LayerTracer: RISE masks, one forward pass per masked image yielding every exit's feature; each exit's
map weights the masks by the E2CM class-mean confidence of the target class there. Writes the strip
"original, early, mid, final" per image (the layer where E2CM would exit framed in red), the raw maps
(safetensors) and an HTML page.

  --weights FILE     model weights
  --means FILE       class means from \`layertracer class-means\`
  --image FILE       an image (PNG or JPEG); repeat for several
  --target CLASS     top1 (default), index or class name
  --masks N          number of RISE masks (default 4000)
  --cells S          mask grid cells per side (default 7)
  --keep P           mask keep probability (default 0.5)
  --seed N           mask seed (default 0)
  --batch N          masked images per forward pass (default 64)
  --threshold T      E2CM exit threshold for the exit marker (default 0.9)
  --all-exits        put every exit (and the classifier output) in the strip
  --out DIR          output folder (default out/trace)
  --force            overwrite existing outputs
`;

export async function traceCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      means: { type: 'string' },
      image: { type: 'string', multiple: true },
      target: { type: 'string' },
      masks: { type: 'string', default: '4000' },
      cells: { type: 'string', default: '7' },
      keep: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '0' },
      batch: { type: 'string', default: '64' },
      threshold: { type: 'string', default: '0.9' },
      'all-exits': { type: 'boolean', default: false },
      out: { type: 'string', default: join('out', 'trace') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(TRACE_HELP);
  if (!values.weights || !values.means || !values.image?.length)
    throw new UsageError('trace needs --weights, --means and at least one --image (see --help)');
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    const means = classMeansFromFile(await readSafetensorsFile(values.means));
    await traceImages(engine, model, means, values.image, {
      target: parseTarget(values.target, model.info.classes),
      masks: Number(values.masks),
      s: Number(values.cells),
      p: Number(values.keep),
      seed: Number(values.seed),
      batchSize: Number(values.batch),
      threshold: Number(values.threshold),
      allExits: values['all-exits']!,
      outDir: values.out!,
      force: values.force!,
    });
    model.release();
  } finally {
    engine.destroy();
  }
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
  outDir: string;
  force: boolean;
}

/** Runs LayerTracer on image files and writes strips, raw maps and a page; returns the page path. */
export async function traceImages(engine: Engine, model: Model, means: ClassMeans, images: string[], job: TraceJob): Promise<string> {
  const stems = images.map((p, i) => `${basename(p, extname(p))}${images.indexOf(p) === i ? '' : `-${i}`}`);
  const report = join(job.outDir, 'layertracer.html');
  const files = [
    report,
    ...stems.flatMap((s) => [join(job.outDir, `${s}.layertracer.png`), join(job.outDir, `${s}.layertracer.safetensors`)]),
  ];
  if (!job.force) {
    const clash = files.filter(existsSync);
    if (clash.length)
      throw new UsageError(`outputs already exist (${clash.slice(0, 3).join(', ')}); pass --force to overwrite or choose another --out`);
  }
  await mkdir(job.outDir, { recursive: true });
  const [h, w] = model.info.inputSize;
  const prepared = await Promise.all(
    images.map(async (p) =>
      preprocessForModel(await readImageFile(p), {
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
  const progress = new Progress('layertracer', job.masks * images.length);
  const result = await layerTracer(model, x, means, { ...job, onProgress: (d) => progress.update(d) });
  progress.done();
  engine.release(x);

  const shown = job.allExits ? result.layers : stripLayers(means.exits);
  const rows: string[] = [];
  for (const [i, stem] of stems.entries()) {
    const maps = new Map<string, Float32Array>();
    for (const l of result.layers) maps.set(l, (await result.maps.get(l)!.readF32()).slice(i * h * w, (i + 1) * h * w));
    const scale = Math.max(1, Math.ceil(128 / w));
    const tiles = shown.map((l) => ({
      image: upscaleNearest(overlayHeatmap(prepared[i].image, stretchToUnit(maps.get(l)!), w, h, { colormap: 'jet', alpha: 0.5 }), scale),
      isExit: l === result.exitLayer[i],
    }));
    await writePng(join(job.outDir, `${stem}.layertracer.png`), attentionStrip(upscaleNearest(prepared[i].image, scale), tiles), {
      force: job.force,
    });
    await writeSafetensorsFile(
      join(job.outDir, `${stem}.layertracer.safetensors`),
      Object.fromEntries(result.layers.map((l) => [`map:${l}`, { dtype: 'F32' as const, shape: [h, w], data: maps.get(l)! }])),
      {
        method: 'layertracer',
        target: String(result.targets[i]),
        exit_layer: result.exitLayer[i] ?? 'none',
        layers: JSON.stringify(result.layers),
        masks: String(job.masks),
        image: images[i],
      },
      { force: job.force },
    );
    const exit = result.exitLayer[i] ?? 'none (final classifier)';
    console.log(`${images[i]}: target ${model.info.classes[result.targets[i]]}; E2CM exits at ${exit}`);
    rows.push(stripRow(images[i], `${stem}.layertracer.png`, model.info.classes[result.targets[i]], exit, shown, result, i));
  }
  result.release();
  await writeFile(
    report,
    page(
      'LayerTracer',
      `<h1>LayerTracer</h1><div class="meta">${escapeHtml(model.info.architecture)} · ${job.masks} masks, s=${job.s}, p=${job.p}, seed ${job.seed} · red frame: the exit E2CM takes (threshold ${job.threshold})</div>${colourLegendHtml('jet', { withSigned: false })}${rows.join('\n')}`,
    ),
    { flag: job.force ? 'w' : 'wx' },
  );
  console.log(`wrote ${report}`);
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
