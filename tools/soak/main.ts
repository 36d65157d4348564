/**
 * `npm run soak`: long loops that must not leak. 10,000 Grad-CAM and saliency passes, then RISE and
 * L2-CAF runs, on the default VGG model. After a warm-up (pipelines and weight caches), the GPU pool's
 * live bytes must come back to the same value after every pass, the pooled (free) bytes must stop
 * growing, and the JS heap after a full GC must stay flat. Prints the measurements; exit code 1 on growth.
 *
 *   npm run soak -- [--passes 10000] [--rise 40] [--rise-masks 500] [--l2caf 40] [--l2caf-steps 300]
 *
 * Runs GPU work: take the shared GPU lock (flock /tmp/lt-gpu.lock npm run soak).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireEngine } from '../../src/gpu/acquire.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { gradCam } from '../../src/methods/grad-cam.js';
import { l2caf } from '../../src/methods/l2caf.js';
import { rise } from '../../src/methods/rise.js';
import { saliency } from '../../src/methods/saliency.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run soak does)');

/** The JS heap after full GCs with event-loop turns between them, so native wrappers' finalizers run too. */
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

const MIB = 2 ** 20;
const { values } = parseArgs({
  options: {
    passes: { type: 'string', default: '10000' },
    rise: { type: 'string', default: '40' },
    'rise-masks': { type: 'string', default: '500' },
    l2caf: { type: 'string', default: '40' },
    'l2caf-steps': { type: 'string', default: '300' },
  },
});

const engine = await acquireEngine();
const model = modelFromFile(engine, await readSafetensorsFile(join(process.cwd(), 'weights', 'default-vgg.safetensors')));
const [h, w] = model.info.inputSize;
const x = engine.upload(
  Float32Array.from({ length: 3 * h * w }, (_, i) => Math.sin(i * 0.37)),
  [1, 3, h, w],
  'soak.input',
);
const failures: string[] = [];

interface Loop {
  name: string;
  runs: number;
  run: () => Promise<{ maps: Tensor }>;
  /** Allowed heap growth after warm-up (GC noise is a few hundred KiB). */
  heapSlack: number;
}

async function soak(loop: Loop): Promise<void> {
  if (loop.runs <= 0) return;
  const warm = Math.max(5, Math.floor(loop.runs / 20));
  for (let i = 0; i < warm; i++) engine.release((await loop.run()).maps);
  await engine.finish();
  const live0 = engine.pool.stats.liveBytes;
  const pooled0 = engine.pool.stats.pooledBytes;
  const heap0 = await heap();
  const samples: string[] = [];
  let liveDrift = 0;
  const t0 = Date.now();
  for (let i = 1; i <= loop.runs; i++) {
    engine.release((await loop.run()).maps);
    liveDrift = Math.max(liveDrift, Math.abs(engine.pool.stats.liveBytes - live0));
    if (i % Math.max(1, Math.floor(loop.runs / 5)) === 0) samples.push(`${i}: heap ${(((await heap()) - heap0) / 1024).toFixed(0)} KiB`);
  }
  await engine.finish();
  const grown = (await heap()) - heap0;
  const pooled = engine.pool.stats.pooledBytes - pooled0;
  console.log(
    `${loop.name}: ${loop.runs} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s; GPU live ${(engine.pool.stats.liveBytes / MIB).toFixed(2)} MiB ` +
      `(largest drift after a run ${liveDrift} B), pooled ${pooled >= 0 ? '+' : ''}${(pooled / MIB).toFixed(2)} MiB; ` +
      `JS heap after GC ${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(0)} KiB (${(grown / loop.runs).toFixed(1)} B a run)`,
  );
  console.log(`  heap growth at ${samples.join(', ')}`);
  if (liveDrift !== 0) failures.push(`${loop.name}: GPU live bytes changed by ${liveDrift} after a run`);
  if (pooled > 0) failures.push(`${loop.name}: the pool grew by ${pooled} bytes after warm-up`);
  if (grown > loop.heapSlack) failures.push(`${loop.name}: the JS heap grew by ${(grown / 1024).toFixed(0)} KiB`);
}

const passes = Number(values.passes);
let k = 0;
await soak({
  name: 'Grad-CAM and saliency passes',
  runs: passes,
  run: () => (k++ % 2 ? gradCam(model, x) : saliency(model, x)),
  heapSlack: MIB,
});
await soak({ name: 'RISE', runs: Number(values.rise), run: () => rise(model, x, { masks: Number(values['rise-masks']) }), heapSlack: MIB });
await soak({
  name: 'L2-CAF',
  runs: Number(values.l2caf),
  run: () => l2caf(model, x, { maxSteps: Number(values['l2caf-steps']), tolerance: -1 }), // every step, no plateau stop
  heapSlack: MIB,
});

engine.release(x);
model.release();
engine.destroy();
console.log(failures.length ? `soak: FAILED\n  ${failures.join('\n  ')}` : 'soak: no growth');
process.exitCode = failures.length ? 1 : 0;
