import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { calibrationNote, type ClassMeans } from '../e2cm/class-means.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import { acquireEngine } from '../gpu/acquire.js';
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../graph/model.js';
import { readImageFile } from '../image/decode-node.js';
import { writePng } from '../image/encode-node.js';
import { upscaleNearest } from '../image/image.js';
import { overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel } from '../image/preprocess.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { layerEvidence, type ImageEvidence } from '../methods/layer-evidence.js';
import { DEFAULT_MASK_SCORE, layerTracer, MASK_SCORES, type LayerTracerResult, type MaskScore } from '../methods/layertracer.js';
import { escapeHtml, page } from '../report/html.js';
import { attentionStrip, stretchTogether } from '../report/strip.js';
import { stretchToUnit } from '../util/stretch.js';
import { UsageError } from './errors.js';
import { loadModelFile, parseTarget } from './load-model.js';
import { Progress } from './progress.js';

export const TRACE_HELP = `layertracer trace --weights FILE --means FILE --image FILE... [options]

LayerTracer: RISE masks, one forward pass per masked image yielding every exit's feature; each exit's
map weights the masks by the target's calibrated E2CM score there (several images share each pass).
Writes per image the strip "original, early, mid, final" on one colour scale, with each map's numbers
under it (class sensitivity: 1 - the mean correlation with the other classes' maps; contrast: std /
mean; both also for noise maps, the same scores with masks the image never saw; insertion and
deletion AUC, and a random map's under the original) and the layer where E2CM exits framed in red; the raw maps (one safetensors per image, one tensor per layer named by the
layer); and an HTML page.

  --weights FILE         model weights
  --means FILE           class means from \`layertracer class-means\` (calibrated: --calibrate-range)
  --image FILE           an image (PNG or JPEG); repeat for several
  --target CLASS         top1 (default), index or class name
  --score S              mask score: ${MASK_SCORES.join(' or ')} (default ${DEFAULT_MASK_SCORE}; see the README)
  --scale shared|layer   one colour scale for the whole strip (default) or one per map
  --masks N              number of RISE masks (default 4000)
  --cells S              mask grid cells per side (default 7)
  --keep P               mask keep probability (default 0.5)
  --seed N               mask seed (default 0)
  --batch N              masked images per forward pass (default 64)
  --threshold T          one exit threshold for every exit (default: the per-exit thresholds calibrated
                         into the means; 0.9 for uncalibrated means)
  --pixels-per-step N    insertion / deletion step (default H*W/224)
  --no-causal            skip insertion / deletion (they cost 2 (H*W/step + 1) forward passes per map)
  --all-exits            put every exit (and the classifier output) in the strip
  --json FILE            the per-layer numbers of every image as JSON
  --out DIR              output folder (default out/trace)
  --force                overwrite existing outputs
`;

export async function traceCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      weights: { type: 'string' },
      means: { type: 'string' },
      image: { type: 'string', multiple: true },
      target: { type: 'string' },
      score: { type: 'string', default: DEFAULT_MASK_SCORE },
      scale: { type: 'string', default: 'shared' },
      masks: { type: 'string', default: '4000' },
      cells: { type: 'string', default: '7' },
      keep: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '0' },
      batch: { type: 'string', default: '64' },
      threshold: { type: 'string' },
      'pixels-per-step': { type: 'string' },
      'no-causal': { type: 'boolean', default: false },
      'all-exits': { type: 'boolean', default: false },
      json: { type: 'string' },
      out: { type: 'string', default: join('out', 'trace') },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(TRACE_HELP);
  if (!values.weights || !values.means || !values.image?.length)
    throw new UsageError('trace needs --weights, --means and at least one --image (see --help)');
  if (!MASK_SCORES.includes(values.score as MaskScore))
    throw new UsageError(`--score must be ${MASK_SCORES.join(' or ')}, got "${values.score}"`);
  if (values.scale !== 'shared' && values.scale !== 'layer') throw new UsageError(`--scale must be shared or layer, got "${values.scale}"`);
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold >= 0)) throw new UsageError(`--threshold must be a number >= 0, got "${values.threshold}"`);
  const pixelsPerStep = values['pixels-per-step'] === undefined ? undefined : Number(values['pixels-per-step']);
  if (pixelsPerStep !== undefined && !(Number.isInteger(pixelsPerStep) && pixelsPerStep >= 1))
    throw new UsageError(`--pixels-per-step must be a positive integer, got "${values['pixels-per-step']}"`);
  const means = classMeansFromFile(await readSafetensorsFile(values.means));
  const engine = await acquireEngine();
  try {
    const model = await loadModelFile(engine, values.weights);
    await traceImages(engine, model, means, values.image, {
      target: parseTarget(values.target, model.info.classes),
      masks: Number(values.masks),
      s: Number(values.cells),
      p: Number(values.keep),
      seed: Number(values.seed),
      batchSize: Number(values.batch),
      score: values.score as MaskScore,
      scale: values.scale,
      threshold,
      causal: !values['no-causal'],
      pixelsPerStep,
      allExits: values['all-exits']!,
      json: values.json,
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
  score: MaskScore;
  scale: 'shared' | 'layer';
  /** One threshold for every exit; undefined: the thresholds calibrated into the means. */
  threshold?: number;
  /** Insertion / deletion per layer (and for a random map). */
  causal: boolean;
  pixelsPerStep?: number;
  allExits: boolean;
  json?: string;
  outDir: string;
  force: boolean;
}

/** Per image, as `trace --json` writes it. */
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
  const stems = images.map((p, i) => `${basename(p, extname(p))}${images.indexOf(p) === i ? '' : `-${i}`}`);
  const report = join(job.outDir, 'layertracer.html');
  const files = [
    report,
    ...(job.json ? [job.json] : []),
    ...stems.flatMap((s) => [join(job.outDir, `${s}.layertracer.png`), join(job.outDir, `${s}.layertracer.safetensors`)]),
  ];
  if (!job.force) {
    const clash = files.filter(existsSync);
    if (clash.length)
      throw new UsageError(`outputs already exist (${clash.slice(0, 3).join(', ')}); pass --force to overwrite or choose another --out`);
  }
  const note = calibrationNote(means);
  if (note) console.log(`note: ${note}`);
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
  const { threshold, ...rise } = job;
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
    const target = model.info.classes[result.targets[i]];
    const ev = evidence[i];
    const record: TraceRecord = {
      image: images[i],
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
    await writePng(join(job.outDir, `${stem}.layertracer.png`), attentionStrip(original, tiles), { force: job.force });
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
        image: images[i],
      },
      { force: job.force },
    );
    const exit = result.exitLayer[i] ?? 'none (final classifier)';
    console.log(`${images[i]}: target ${target}; E2CM exits at ${exit}`);
    console.log(evidenceTable(record));
    rows.push(stripRow(record, `${stem}.layertracer.png`, shown, result));
  }
  result.release();
  const flag = job.force ? 'w' : 'wx';
  if (job.json) {
    await mkdir(dirname(job.json), { recursive: true });
    const body = { model: model.info.architecture, score: job.score, scale: job.scale, masks: job.masks, images: records };
    await writeFile(job.json, JSON.stringify(body, null, 2) + '\n', { flag });
  }
  const thresholds =
    job.threshold !== undefined ? `threshold ${job.threshold} at every exit` : 'the per-exit thresholds calibrated into the class means';
  await writeFile(
    report,
    page(
      'LayerTracer',
      `<h1>LayerTracer</h1><div class="meta">${escapeHtml(model.info.architecture)} · ${job.masks} masks, s=${job.s}, p=${job.p}, seed ${job.seed} · score: ${job.score} · colour scale: ${job.scale === 'shared' ? 'one for the whole strip' : 'one per map'} · red frame: the exit E2CM takes (${escapeHtml(thresholds)})${note ? ` · ${escapeHtml(note)}` : ''}</div>${rows.join('\n')}`,
    ),
    { flag },
  );
  console.log(`wrote ${report}${job.json ? ` and ${job.json}` : ''}`);
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
