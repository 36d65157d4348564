/**
 * Model and method throughput (`npm run bench:methods`): forward and forward+backward-to-input times of
 * ResNet-18/50 and VGG-16 at 224x224 batch 1 (seeded weights; compare with the peers in docs/adapter.md),
 * RISE masks per second on ResNet-20 at 32x32 and ResNet-50 at 224x224, and images per second of every
 * attribution method on ResNet-20. First run (pipeline compiles) reported apart; then the median of
 * warm runs.
 *
 *   node dist/bench/methods.js [--quick] [--out out/bench]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireEngine } from '../src/gpu/acquire.js';
import type { Engine } from '../src/gpu/engine.js';
import { modelFromFile, seededModel, type Model } from '../src/graph/model.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { METHODS } from '../src/methods/registry.js';
import { rise } from '../src/methods/rise.js';
import { seededInput, seededValues } from '../src/models/seeded-init.js';
import { projectRoot } from '../src/util/project-root.js';
import { benchArgs } from './args.js';

const values = benchArgs('bench:methods', 'usage: bench:methods [--quick] [--out DIR]', {
  quick: { type: 'boolean', default: false },
  out: { type: 'string', default: join('out', 'bench') },
});
const quick = values.quick!;
const rows: { what: string; first: number; median: number; unit: string; rate?: string }[] = [];

async function time(engine: Engine, what: string, runs: number, body: () => Promise<void>, rate?: (ms: number) => string): Promise<void> {
  const t0 = performance.now();
  await body();
  await engine.finish();
  const first = performance.now() - t0;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await body();
    await engine.finish();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] ?? first;
  rows.push({ what, first, median, unit: 'ms', rate: rate?.(median) });
  console.log(
    `${what.padEnd(58)} first ${first.toFixed(0).padStart(7)} ms   median ${median.toFixed(1).padStart(8)} ms ${rate ? `  ${rate(median)}` : ''}`,
  );
}

function imageNetModel(engine: Engine, arch: string): Model {
  return seededModel(engine, arch, (n, s) => seededValues(n, s, 0));
}

const engine = await acquireEngine();
try {
  console.log(`adapter: ${engine.adapter.description || engine.adapter.architecture}${engine.adapter.isSoftware ? ' (software)' : ''}`);
  for (const arch of quick ? ['resnet18'] : ['resnet18', 'resnet50', 'vgg16']) {
    const model = imageNetModel(engine, arch);
    const x = engine.upload(seededInput([1, 3, 224, 224]), [1, 3, 224, 224], 'x');
    await time(engine, `${arch} forward, 224x224, batch 1`, quick ? 1 : 3, async () => {
      const t = model.forward(x, { forBackward: false });
      await t.logits.readF32();
      t.release();
    });
    const seed = engine.zeros([1, 1000]);
    await time(engine, `${arch} forward + backward to input, batch 1`, quick ? 1 : 3, async () => {
      const t = model.forward(x);
      const b = model.backward(t, { grad: seed });
      await b.input!.readF32();
      b.release();
      t.release();
    });
    if (arch === 'resnet50') {
      const masks = 64;
      await time(
        engine,
        `RISE on resnet50 224x224, ${masks} masks (batch 16)`,
        1,
        async () => {
          const r = await rise(model, x, { masks, batchSize: 16, target: 0 });
          engine.release(r.maps);
        },
        (ms) => `${((masks * 1000) / ms).toFixed(1)} masks/s`,
      );
    }
    engine.releaseAll(x, seed);
    model.release();
  }

  const r20 = modelFromFile(
    engine,
    await readSafetensorsFile(join(projectRoot(), '..', 'shared', 'data', 'cifar10', 'resnet20.safetensors')),
  );
  const x1 = engine.upload(seededInput([1, 3, 32, 32]), [1, 3, 32, 32], 'x');
  const masks = quick ? 500 : 2000;
  await time(
    engine,
    `RISE on resnet20 32x32, ${masks} masks (batch 250)`,
    1,
    async () => {
      const r = await rise(r20, x1, { masks, batchSize: 250, target: 0 });
      engine.release(r.maps);
    },
    (ms) => `${((masks * 1000) / ms).toFixed(0)} masks/s`,
  );
  const n = 16;
  const x16 = engine.upload(seededInput([n, 3, 32, 32]), [n, 3, 32, 32], 'x16');
  for (const m of METHODS) {
    if (quick && !['saliency', 'grad-cam'].includes(m.name)) continue;
    await time(
      engine,
      `${m.name} on resnet20, batch ${n}`,
      1,
      async () => {
        const a = await m.run(r20, x16, { masks: 1000 });
        engine.release(a.maps);
      },
      (ms) => `${((n * 1000) / ms).toFixed(1)} images/s`,
    );
  }
  engine.releaseAll(x1, x16);
  r20.release();
} finally {
  engine.destroy();
}
const md = [
  '| benchmark | first run (ms) | median (ms) | rate |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.what} | ${r.first.toFixed(0)} | ${r.median.toFixed(1)} | ${r.rate ?? ''} |`),
].join('\n');
await mkdir(values.out!, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
await writeFile(join(values.out!, `methods-${stamp}.md`), md + '\n');
console.log(`\n${md}`);
