/**
 * No host-memory growth in long loops: the JS heap after a full GC is flat across thousands of
 * readbacks, Grad-CAM passes and L2-CAF runs (each readback once left a closure behind for good).
 * Memory, not time, so this belongs in the suite; the long version is `npm run soak`.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { gradCam } from '../../src/methods/grad-cam.js';
import { l2caf } from '../../src/methods/l2caf.js';
import { testEngine } from '../util/gpu.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const e = await testEngine();
/** The heap after a full GC moves by a few hundred KiB between measurements; the old leak (~660 bytes a readback, a closure on device.lost) is 5 MiB over 8,000. */
const MIB = 2 ** 20;

/** The heap after full GCs with event-loop turns between them, so native wrappers' finalizers run too. */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

/** Heap growth over `times` calls, after `warm` calls that fill caches and compile code. */
async function growth(times: number, warm: number, step: () => Promise<void>): Promise<number> {
  for (let i = 0; i < warm; i++) await step();
  const before = await heapAfterGc();
  for (let i = 0; i < times; i++) await step();
  return (await heapAfterGc()) - before;
}

describe('host memory stays flat', () => {
  it('over 8,000 readbacks', async () => {
    const t = e.upload(Float32Array.of(1, 2, 3, 4), [4]);
    const grown = await growth(8_000, 500, async () => void (await t.read()));
    e.release(t);
    expect(grown).toBeLessThan(MIB);
  });

  it('over 300 Grad-CAM passes and 6 L2-CAF runs', async () => {
    const model = modelFromFile(e, await readSafetensorsFile(join('weights', 'default-vgg.safetensors')));
    const [h, w] = model.info.inputSize;
    const x = e.upload(
      Float32Array.from({ length: 3 * h * w }, (_, i) => Math.cos(i)),
      [1, 3, h, w],
    );
    const cam = await growth(300, 30, async () => {
      const a = await gradCam(model, x);
      await a.maps.read();
      e.release(a.maps);
    });
    const caf = await growth(6, 2, async () => e.release((await l2caf(model, x, { maxSteps: 150 })).maps));
    expect({ cam: cam < MIB, caf: caf < MIB, cam_bytes: cam, caf_bytes: caf }).toMatchObject({ cam: true, caf: true });
    e.release(x);
    model.release();
  });
});
