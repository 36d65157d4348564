import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { calibrationNote, type ClassMeans } from '../e2cm/class-means.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { upscaleNearest } from '../image/image.js';
import { overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel, type ModelInput } from '../image/preprocess.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { layerEvidence, type ImageEvidence } from '../methods/layer-evidence.js';
import { DEFAULT_MASK_SCORE, layerTracer, MASK_SCORES, type LayerTracerResult, type MaskScore } from '../methods/layertracer.js';
import { colourLegendHtml } from '../report/colour-bar.js';
import { escapeHtml, page } from '../report/html.js';
import { attentionStrip, stretchTogether, withColourKey } from '../report/strip.js';
import { assertFiniteResult } from '../util/finite.js';
import { stretchToUnit } from '../util/stretch.js';
import { defineCommand } from './command.js';
import { ALLOW_NON_FINITE, batchOption, FORCE, outDir, TARGET, WEIGHTS } from './common-options.js';
import { loadModelFile, parseTarget, MAX_WEIGHTS_BYTES } from './load-model.js';
import { Progress } from './progress.js';

export const TRACE = defineCommand({
  name: 'trace',
  summary: 'LayerTracer: layer-wise RISE maps from calibrated class-mean confidences, with the E2CM exit',
  usage: '--weights FILE --means FILE --image FILE... [options]',
  description: `LayerTracer: RISE masks, one forward pass per masked image yielding every exit's feature; each exit's
map weights the masks by the target's calibrated E2CM score there (several images share each pass).
Writes per image the strip "original, early, mid, final" on one colour scale, with each map's numbers
under it (class sensitivity: 1 - the mean correlation with the other classes' maps; contrast: std /
mean; both also for noise maps, the same scores with masks the image never saw; insertion and
deletion AUC, and a random map's under the original) and the layer where E2CM exits framed in red;
the raw maps (one safetensors per image, one tensor per layer named by the layer); the per-layer
numbers of every image (layertracer.json); and an HTML page.`,
  options: {
    weights: WEIGHTS,
    'allow-non-finite': ALLOW_NON_FINITE,
    means: { type: 'file', required: true, help: 'class means from `layertracer class-means` (calibrated: --calibrate-range)' },
    image: { type: 'file', arg: 'FILE', required: true, multiple: true, help: 'an image (PNG or JPEG); repeat for several' },
    target: TARGET,
    score: { type: 'enum', values: MASK_SCORES, default: DEFAULT_MASK_SCORE, help: 'mask score (see the README)' },
    scale: { type: 'enum', values: ['shared', 'layer'], default: 'shared', help: 'one colour scale for the whole strip, or one per map' },
    masks: { type: 'int', arg: 'N', min: 1, max: 100_000, default: 4000, help: 'number of RISE masks' },
    cells: { type: 'int', arg: 'S', min: 1, max: 64, default: 7, help: 'mask grid cells per side' },
    keep: { type: 'number', arg: 'P', above: 0, below: 1, default: 0.5, help: 'mask keep probability' },
    seed: { type: 'int', arg: 'N', min: 0, max: 0xffff_ffff, default: 0, help: 'mask seed' },
    batch: batchOption(64, 'masked images per forward pass'),
    threshold: {
      type: 'number',
      arg: 'T',
      min: 0,
      help: 'one exit threshold for every exit (default: the per-exit thresholds calibrated into the means; 0.9 for uncalibrated means)',
    },
    'pixels-per-step': { type: 'int', arg: 'N', min: 1, max: 1_000_000, help: 'insertion / deletion step (default H*W/224)' },
    'no-causal': { type: 'flag', help: 'skip insertion / deletion (they cost 2 (H*W/step + 1) forward passes per map)' },
    'all-exits': { type: 'flag', help: 'put every exit (and the classifier output) in the strip' },
    json: { type: 'out-file', arg: 'FILE', help: 'also write the per-layer numbers of every image as JSON here' },
    out: outDir('trace'),
    force: FORCE,
  },
  async run(values, out, extra) {
    out.expect(traceOutputNames(values.image));
    const means = classMeansFromFile(await readSafetensorsFile(values.means, { maxBytes: MAX_WEIGHTS_BYTES }));
    const engine = await acquireEngine();
    try {
      const model = await loadModelFile(engine, values.weights, { allowNonFinite: values['allow-non-finite'] });
      await traceImages(engine, model, means, values.image, {
        target: parseTarget(values.target, model.info.classes),
        masks: values.masks,
        s: values.cells,
        p: values.keep,
        seed: values.seed,
        batchSize: values.batch,
        score: values.score,
        scale: values.scale,
        threshold: values.threshold,
        causal: !values['no-causal'],
        pixelsPerStep: values['pixels-per-step'],
        allExits: values['all-exits'],
        outDir: out.dir,
        show: out.show,
        json: extra.json?.file,
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
  return [
    'layertracer.html',
    'layertracer.json',
    ...traceStems(images).flatMap((s) => [`${s}.layertracer.png`, `${s}.layertracer.safetensors`]),
  ];
}

/** What {@link traceImages} runs: LayerTracer's settings and where the files go. */
export interface TraceJob {
  target: number | 'top1';
  masks: number;
  s: number;
  p: number;
  seed: number;
  batchSize: number;
  score: MaskScore;
  scale: 'shared' | 'layer';
  /** One threshold for every exit; undefined: the thresholds calibrated into the means. */
  threshold?: number;
  /** Insertion / deletion per layer (and for a random map). */
  causal: boolean;
  pixelsPerStep?: number;
  allExits: boolean;
  /** Where to write (the command's staging folder). */
  outDir: string;
  /** How a path under the staging folder is named in messages and metadata (its final place). */
  show?: (path: string) => string;
  /** Also write the numbers (layertracer.json's content) to this file. */
  json?: string;
}

/** Per image, as `trace` writes it to layertracer.json. */
export interface TraceRecord {
  image: string;
  target: string;
  exitLayer: string | null;
  /** Per exit: the clean image's calibrated confidence and that exit's threshold. */
  exits: { layer: string; confidence: number; threshold: number | null }[];
  layers: ImageEvidence['layers'];
  random: ImageEvidence['random'];
}

/** Runs LayerTracer on image files and writes strips, raw maps, the numbers and a page; returns the page path. */
export async function traceImages(engine: Engine, model: Model, means: ClassMeans, images: string[], job: TraceJob): Promise<string> {
  const show = job.show ?? ((p: string) => p);
  const stems = traceStems(images);
  const report = join(job.outDir, 'layertracer.html');
  const numbers = join(job.outDir, 'layertracer.json');
  const note = calibrationNote(means);
  if (note) console.log(`note: ${note}`);
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
  const { threshold, outDir: _outDir, show: _show, json: _json, ...rise } = job;
  const result = await layerTracer(model, x, means, {
    ...rise,
    thresholds: threshold,
    baseline: true,
    onProgress: (d) => progress.update(d),
  });
  progress.done();
  const evidence = await layerEvidence(model, x, result, { causal: job.causal, pixelsPerStep: job.pixelsPerStep, seed: job.seed });
  engine.release(x);

  const picked = job.allExits ? result.layers : [...stripLayers(means.exits), 'output'];
  const records: TraceRecord[] = [];
  const rows: string[] = [];
  for (const [i, stem] of stems.entries()) {
    // The exit the image takes is always in its strip, so its red frame shows.
    const shown = result.layers.filter((l) => picked.includes(l) || l === result.exitLayer[i]);
    const maps = new Map<string, Float32Array>();
    for (const l of result.layers) maps.set(l, (await result.maps.get(l)!.readF32()).slice(i * h * w, (i + 1) * h * w));
    for (const [l, map] of maps) assertFiniteResult(map, `the LayerTracer map at ${l}`);
    const target = model.info.classes[result.targets[i]];
    const ev = evidence[i];
    const record: TraceRecord = {
      image: show(images[i]),
      target,
      exitLayer: result.exitLayer[i],
      exits: means.exits.map((layer, j) => ({
        layer,
        confidence: result.confidence[i][j],
        threshold: Number.isFinite(result.thresholds[j]) ? result.thresholds[j] : null,
      })),
      layers: ev.layers,
      random: ev.random,
    };
    records.push(record);
    const { scaled, range } =
      job.scale === 'shared'
        ? stretchTogether(shown.map((l) => maps.get(l)!))
        : { scaled: shown.map((l) => stretchToUnit(maps.get(l)!)), range: null };
    const scale = Math.max(1, Math.ceil(128 / w));
    const tiles = shown.map((l, k) => ({
      image: upscaleNearest(overlayHeatmap(prepared[i].image, scaled[k], w, h, { colormap: 'jet', alpha: 0.5 }), scale),
      isExit: l === result.exitLayer[i],
      caption: layerCaption(
        ev.layers.find((e) => e.layer === l)!,
        l === result.exitLayer[i],
      ),
    }));
    const original = {
      image: upscaleNearest(prepared[i].image, scale),
      caption: [
        'original',
        `target ${target}`,
        ...(job.causal ? ['random map:', `ins ${fmt(ev.random.insertion)} del ${fmt(ev.random.deletion)}`] : []),
        range ? `scale ${range[0].toPrecision(2)}..${range[1].toPrecision(2)}` : 'scale: per map',
        '(rnd): noise maps',
      ],
    };
    await writePng(join(job.outDir, `${stem}.layertracer.png`), withColourKey(attentionStrip(original, tiles), 'jet', range));
    await writeSafetensorsFile(
      join(job.outDir, `${stem}.layertracer.safetensors`),
      Object.fromEntries(result.layers.map((l) => [l, { dtype: 'F32' as const, shape: [h, w], data: maps.get(l)! }])),
      {
        method: 'layertracer',
        score: result.score,
        target: String(result.targets[i]),
        exit_layer: result.exitLayer[i] ?? 'none',
        layers: JSON.stringify(result.layers),
        masks: String(job.masks),
        image: show(images[i]),
      },
    );
    const exit = result.exitLayer[i] ?? 'none (final classifier)';
    console.log(`${show(images[i])}: target ${target}; E2CM exits at ${exit}`);
    console.log(evidenceTable(record));
    rows.push(stripRow(record, `${stem}.layertracer.png`, shown, result));
  }
  result.release();
  const flag = 'wx';
  const body = { model: model.info.architecture, score: job.score, scale: job.scale, masks: job.masks, images: records };
  const json = JSON.stringify(body, null, 2) + '\n';
  await writeFile(numbers, json, { flag });
  if (job.json) await writeFile(job.json, json, { flag });
  const thresholds =
    job.threshold !== undefined ? `threshold ${job.threshold} at every exit` : 'the per-exit thresholds calibrated into the class means';
  await writeFile(
    report,
    page(
      'LayerTracer',
      `<h1>LayerTracer</h1><div class="meta">${escapeHtml(model.info.architecture)} · ${job.masks} masks, s=${job.s}, p=${job.p}, seed ${job.seed} · score: ${job.score} · colour scale: ${job.scale === 'shared' ? 'one for the whole strip' : 'one per map'} · red frame: the exit E2CM takes (${escapeHtml(thresholds)})${note ? ` · ${escapeHtml(note)}` : ''}</div>${colourLegendHtml('jet', { withSigned: false })}${rows.join('\n')}`,
    ),
    { flag },
  );
  console.log(`wrote ${show(report)} and ${show(numbers)}`);
  return report;
}

const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(2));

function layerCaption(e: ImageEvidence['layers'][number], isExit: boolean): string[] {
  const base = e.baseline;
  return [
    `${e.layer}${isExit ? '  EXIT' : ''}`,
    `sens ${fmt(e.classSensitivity)} (rnd ${fmt(base?.classSensitivity ?? NaN)})`,
    `contr ${fmt(e.contrast)} (rnd ${fmt(base?.contrast ?? NaN)})`,
    `ins ${fmt(e.insertion)} del ${fmt(e.deletion)}`,
  ];
}

/** early = the first block after the stem, mid = the middle exit, final = the last exit (each image's exit layer is added). */
export function stripLayers(exits: string[]): string[] {
  const picks = [exits[Math.min(1, exits.length - 1)], exits[Math.floor(exits.length / 2)], exits[exits.length - 1]];
  return [...new Set(picks)];
}

function evidenceTable(r: TraceRecord): string {
  const rows = r.layers.map(
    (e) =>
      `| ${e.layer} | ${fmt(e.classSensitivity)} | ${fmt(e.baseline?.classSensitivity ?? NaN)} | ${fmt(e.contrast)} | ${fmt(e.baseline?.contrast ?? NaN)} | ${fmt(e.insertion)} | ${fmt(e.deletion)} |`,
  );
  return [
    '| layer | class sensitivity | (noise maps) | contrast | (noise maps) | insertion | deletion |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    `| random map | | | | | ${fmt(r.random.insertion)} | ${fmt(r.random.deletion)} |`,
  ].join('\n');
}

function stripRow(r: TraceRecord, png: string, shown: string[], result: LayerTracerResult): string {
  const conf = r.exits
    .map(
      (e) =>
        `${escapeHtml(e.layer)} ${(e.confidence * 100).toFixed(0)}%${e.threshold === null ? '' : ` (exits above ${(e.threshold * 100).toFixed(0)}%)`}`,
    )
    .join(' · ');
  const table = r.layers
    .map(
      (e) =>
        `<tr><td>${escapeHtml(e.layer)}</td><td>${fmt(e.classSensitivity)} (${fmt(e.baseline?.classSensitivity ?? NaN)})</td><td>${fmt(e.contrast)} (${fmt(e.baseline?.contrast ?? NaN)})</td><td>${fmt(e.insertion)}</td><td>${fmt(e.deletion)}</td></tr>`,
    )
    .join('');
  const exit = r.exitLayer
    ? `exits at <b>${escapeHtml(r.exitLayer)}</b> (red frame)`
    : 'no exit is confident enough: the final classifier answers';
  return `<h2>${escapeHtml(r.image)} → ${escapeHtml(r.target)}</h2><div class="meta">original, ${shown.map(escapeHtml).join(', ')} · score ${result.score} · ${exit}</div><img src="${escapeHtml(png)}" alt="strip"><div class="note">E2CM confidence per exit: ${conf}</div><table><tr><th>layer</th><th>class sensitivity (noise maps)</th><th>contrast (noise maps)</th><th>insertion</th><th>deletion</th></tr>${table}<tr><td>random map</td><td></td><td></td><td>${fmt(r.random.insertion)}</td><td>${fmt(r.random.deletion)}</td></tr></table>`;
}
