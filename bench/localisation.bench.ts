/**
 * Localisation benchmark on generated images with ground-truth object masks (nobody else can run it:
 * it needs per-pixel truth): for every method and both default models, the pointing game (is the map's
 * maximum on the object) and the share of map energy on the object. Also writes, per model, one
 * picture per method: its maps on the first test images with the true object outlined.
 *
 *   npm run bench:localisation -- [--images 500] [--rise-masks 500] [--samples 50] [--models resnet,vgg]
 *                                 [--sheet-images 8] [--out out/bench]
 *
 * --samples is SmoothGrad's sample count and Integrated Gradients' step count (both default 50).
 * Targets are each image's top-1 class, as in the demo.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Progress } from '../src/cli/progress.js';
import { DEFAULT_MODELS } from '../src/cli/demo.js';
import { generateRange, SPLIT_SEEDS } from '../src/data/synthetic/index.js';
import { normalizedBatch } from '../src/data/image-dataset.js';
import { acquireEngine } from '../src/gpu/acquire.js';
import { modelFromFile } from '../src/graph/model.js';
import { encodePng } from '../src/image/encode-node.js';
import { upscaleNearest, type RgbImage } from '../src/image/image.js';
import { outlineMask } from '../src/image/mask-outline.js';
import { overlayHeatmap } from '../src/image/overlay.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { LocalisationTally, localisationScore } from '../src/metrics/localisation.js';
import { toHeatmap } from '../src/methods/heatmap.js';
import { METHODS } from '../src/methods/registry.js';
import { colourBarImage } from '../src/report/colour-bar.js';
import { labelledSheet } from '../src/report/labelled-sheet.js';
import { projectRoot } from '../src/util/project-root.js';
import { benchArgs, intFlag, usageError } from './args.js';

const SCRIPT = 'bench:localisation';
const values = benchArgs(
  SCRIPT,
  'usage: bench:localisation [--images 500] [--batch 25] [--rise-masks 500] [--samples 50] [--models resnet,vgg]\n' +
    '                          [--sheet-images 8] [--out DIR]',
  {
    images: { type: 'string', default: '500' },
    batch: { type: 'string', default: '25' },
    'rise-masks': { type: 'string', default: '500' },
    samples: { type: 'string', default: '50' },
    models: { type: 'string', default: DEFAULT_MODELS.map((m) => m.id).join(',') },
    'sheet-images': { type: 'string', default: '8' },
    out: { type: 'string', default: join('out', 'bench') },
  },
);
const SIZE = 64;
const PIXELS = SIZE * SIZE;
const count = intFlag(SCRIPT, '--images', values.images);
const batch = intFlag(SCRIPT, '--batch', values.batch);
const samples = intFlag(SCRIPT, '--samples', values.samples);
const riseMasks = intFlag(SCRIPT, '--rise-masks', values['rise-masks']);
const sheetImages = Math.min(intFlag(SCRIPT, '--sheet-images', values['sheet-images'], 0), count, batch);
const wanted = values.models!.split(',').map((s) => s.trim());
const models = DEFAULT_MODELS.filter((m) => wanted.includes(m.id));
if (!models.length) usageError(SCRIPT, `--models ${values.models}: choose from ${DEFAULT_MODELS.map((m) => m.id).join(', ')}`);

const data = generateRange(SPLIT_SEEDS.test, 0, count);
const dataset = { images: data.images, labels: data.labels, count, height: SIZE, width: SIZE, classes: [], source: 'synthetic test split' };
const imageOf = (i: number): RgbImage => ({ width: SIZE, height: SIZE, data: data.images.slice(i * PIXELS * 3, (i + 1) * PIXELS * 3) });
const maskOf = (i: number) => data.masks.subarray(i * PIXELS, (i + 1) * PIXELS);

await mkdir(values.out!, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const engine = await acquireEngine();
const tables: string[] = [];
const json: Record<string, unknown> = {};
try {
  for (const m of models) {
    const model = modelFromFile(engine, await readSafetensorsFile(join(projectRoot(), 'weights', m.weights)));
    const methods = METHODS.filter((x) => !x.supports || x.supports(model));
    const tally = new LocalisationTally();
    const seconds = new Map<string, number>();
    const sheetRows = new Map<string, RgbImage[]>();
    const progress = new Progress(`localisation ${m.id}`, count * methods.length);
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const x = engine.upload(normalizedBatch(dataset, start, n, model.info), [n, 3, SIZE, SIZE], 'images');
      for (const [k, method] of methods.entries()) {
        const t0 = performance.now();
        const a = await method.run(model, x, { masks: riseMasks, samples, steps: samples });
        const heat = toHeatmap(engine, a);
        const maps = await heat.readF32();
        engine.releaseAll(heat, a.maps);
        seconds.set(method.name, (seconds.get(method.name) ?? 0) + (performance.now() - t0) / 1000);
        for (let i = 0; i < n; i++) {
          const map = maps.subarray(i * PIXELS, (i + 1) * PIXELS);
          tally.add(method.name, localisationScore(map, maskOf(start + i)));
          if (start + i < sheetImages) {
            const tile = outlineMask(
              upscaleNearest(overlayHeatmap(imageOf(start + i), map, SIZE, SIZE, { alpha: 0.55 }), 2),
              maskOf(start + i),
              SIZE,
              SIZE,
            );
            sheetRows.set(method.name, [...(sheetRows.get(method.name) ?? []), tile]);
          }
        }
        progress.update(start * methods.length + (k + 1) * n);
      }
      engine.release(x);
    }
    progress.done();
    const rows = tally.rows().map((r) => ({ ...r, secondsPerImage: (seconds.get(r.method) ?? 0) / count }));
    json[m.id] = { weights: m.weights, images: count, riseMasks, samples, rows };
    tables.push(
      [
        `${m.title} (${model.info.architecture}), ${count} generated test images (targets: top-1):`,
        '',
        '| method | pointing game | energy inside the mask | seconds per image |',
        '|---|---|---|---|',
        ...rows.map(
          (r) =>
            `| ${r.method} | ${(r.pointing * 100).toFixed(1)} % | ${(r.energy * 100).toFixed(1)} % | ${r.secondsPerImage.toFixed(3)} |`,
        ),
        '',
      ].join('\n'),
    );
    const originals = Array.from({ length: sheetImages }, (_, i) => outlineMask(upscaleNearest(imageOf(i), 2), maskOf(i), SIZE, SIZE));
    const sheet = labelledSheet([{ label: 'image', tiles: originals }, ...[...sheetRows].map(([label, tiles]) => ({ label, tiles }))], {
      title: `${m.title}: maps on test images 0-${sheetImages - 1}, true object outlined in white`,
      legend: colourBarImage('jet', 240),
    });
    const sheetPath = join(values.out!, `localisation-${m.id}-${stamp}.png`);
    await writeFile(sheetPath, encodePng(sheet));
    console.log(`wrote ${sheetPath}`);
    model.release();
  }
} finally {
  engine.destroy();
}
const settings = `RISE ${riseMasks} masks; SmoothGrad ${samples} samples; Integrated Gradients ${samples} steps.`;
const md = [settings, '', ...tables].join('\n');
console.log(md);
await writeFile(join(values.out!, `localisation-${stamp}.md`), md);
await writeFile(join(values.out!, `localisation-${stamp}.json`), JSON.stringify(json, null, 2));
console.log(`wrote ${join(values.out!, `localisation-${stamp}.md`)} and .json`);
