/**
 * Localisation benchmark on generated images with ground-truth object masks (nobody else can run it:
 * it needs per-pixel truth): for every method and both default models, the pointing game (is the map's
 * maximum on the object) and the share of map energy on the object.
 *
 *   npm run bench:localisation -- [--images 500] [--rise-masks 500] [--out out/bench]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Progress } from '../src/cli/progress.js';
import { DEFAULT_MODELS } from '../src/cli/demo.js';
import { generateRange, SPLIT_SEEDS } from '../src/data/synthetic/index.js';
import { normalizedBatch } from '../src/data/image-dataset.js';
import { acquireEngine } from '../src/gpu/acquire.js';
import { modelFromFile } from '../src/graph/model.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { LocalisationTally, localisationScore } from '../src/metrics/localisation.js';
import { toHeatmap } from '../src/methods/heatmap.js';
import { METHODS } from '../src/methods/registry.js';
import { projectRoot } from '../src/util/project-root.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '500' },
    batch: { type: 'string', default: '25' },
    'rise-masks': { type: 'string', default: '500' },
    out: { type: 'string', default: join('out', 'bench') },
  },
});
const count = Number(values.images);
const batch = Number(values.batch);
const data = generateRange(SPLIT_SEEDS.test, 0, count);
const dataset = { images: data.images, labels: data.labels, count, height: 64, width: 64, classes: [], source: 'synthetic test split' };

const engine = await acquireEngine();
const tables: string[] = [];
const json: Record<string, unknown> = {};
try {
  for (const m of DEFAULT_MODELS) {
    const model = modelFromFile(engine, await readSafetensorsFile(join(projectRoot(), 'weights', m.weights)));
    const methods = METHODS.filter((x) => !x.supports || x.supports(model));
    const tally = new LocalisationTally();
    const progress = new Progress(`localisation ${m.id}`, count * methods.length);
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const x = engine.upload(normalizedBatch(dataset, start, n, model.info), [n, 3, 64, 64], 'images');
      for (const [k, method] of methods.entries()) {
        const a = await method.run(model, x, { masks: Number(values['rise-masks']) });
        const heat = toHeatmap(engine, a);
        const maps = await heat.readF32();
        engine.releaseAll(heat, a.maps);
        for (let i = 0; i < n; i++) {
          const mask = data.masks.subarray((start + i) * 4096, (start + i + 1) * 4096);
          tally.add(method.name, localisationScore(maps.subarray(i * 4096, (i + 1) * 4096), mask));
        }
        progress.update(start * methods.length + (k + 1) * n);
      }
      engine.release(x);
    }
    progress.done();
    const rows = tally.rows();
    json[m.id] = rows;
    tables.push(
      [
        `${m.title} (${model.info.architecture}), ${count} generated test images (targets: top-1):`,
        '',
        '| method | pointing game | energy inside the mask |',
        '|---|---|---|',
        ...rows.map((r) => `| ${r.method} | ${(r.pointing * 100).toFixed(1)} % | ${(r.energy * 100).toFixed(1)} % |`),
        '',
      ].join('\n'),
    );
    model.release();
  }
} finally {
  engine.destroy();
}
const md = tables.join('\n');
console.log(md);
await mkdir(values.out!, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
await writeFile(join(values.out!, `localisation-${stamp}.md`), md);
await writeFile(join(values.out!, `localisation-${stamp}.json`), JSON.stringify(json, null, 2));
