// Every method, E2CM and LayerTracer on the newer families (seeded weights, one 64x64 image, two
// classes, few masks and steps): each runs, returns finite maps of the right shape, and releases what
// it allocates. Numerical parity with PyTorch is test/models/pytorch-parity.test.ts's job.
import { describe, expect, it } from 'vitest';
import { computeClassMeans } from '../../src/e2cm/class-means.js';
import { seededModel } from '../../src/graph/model.js';
import { layerTracer } from '../../src/methods/layertracer.js';
import { METHODS } from '../../src/methods/registry.js';
import { seededInput, seededValues } from '../../src/models/seeded-init.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();
const SIDE = 64;
const FAST = { masks: 16, samples: 2, steps: 2, maxSteps: 3, seed: 0 };

const FAMILIES: { arch: string; cam: boolean }[] = [
  { arch: 'mobilenet_v2', cam: true },
  { arch: 'mobilenet_v3_large', cam: false },
  { arch: 'efficientnet_b0', cam: true },
  { arch: 'densenet121', cam: true },
];

describe('methods, E2CM and LayerTracer on MobileNetV2/V3, EfficientNet-B0, DenseNet-121', () => {
  for (const { arch, cam } of FAMILIES) {
    it(arch, async () => {
      const before = engine.pool.stats.liveBytes;
      const model = seededModel(engine, arch, (name, shape) => seededValues(name, shape, 0), 2);
      const x = engine.upload(seededInput([1, 3, SIDE, SIDE], 1), [1, 3, SIDE, SIDE], 'input');
      expect(model.layerNames()).toContain(model.defaultCamLayer);
      expect(METHODS.find((m) => m.name === 'cam')!.supports!(model), `${arch}: CAM head`).toBe(cam);

      for (const method of METHODS) {
        if (method.supports && !method.supports(model)) {
          await expect(method.run(model, x, FAST), `${arch} ${method.name} refuses`).rejects.toThrow(/grad-cam instead/);
          continue;
        }
        const result = await method.run(model, x, FAST);
        const maps = await result.maps.readF32();
        expect(result.maps.shape, `${arch} ${method.name} map shape`).toEqual(
          result.kind === 'heatmap' ? [1, 1, SIDE, SIDE] : [1, 3, SIDE, SIDE],
        );
        expect(
          maps.every((v) => Number.isFinite(v)),
          `${arch} ${method.name}: finite maps`,
        ).toBe(true);
        engine.release(result.maps);
      }

      // E2CM class means at the architecture's exits (two images, one per class), then LayerTracer.
      const images = seededInput([2, 3, SIDE, SIDE], 2);
      const means = await computeClassMeans(model, {
        count: 2,
        shape: [3, SIDE, SIDE],
        batch: (start, count) => ({
          data: images.subarray(start * 3 * SIDE * SIDE, (start + count) * 3 * SIDE * SIDE),
          labels: [0, 1].slice(start, start + count),
        }),
      });
      expect(means.exits).toEqual(model.exitLayers);
      expect(means.exits.length, `${arch} exits`).toBeGreaterThanOrEqual(8);
      const traced = await layerTracer(model, x, means, { masks: 8, seed: 0 });
      expect(traced.layers).toEqual([...model.exitLayers, 'output']);
      for (const l of traced.layers)
        expect((await traced.maps.get(l)!.readF32()).every(Number.isFinite), `${arch} LayerTracer ${l}`).toBe(true);
      traced.release();

      engine.release(x);
      // The model's release also frees the packed weights the conv kernels cached on the way.
      model.release();
      expect(engine.pool.stats.liveBytes, `${arch}: every method released its tensors`).toBe(before);
    });
  }
});
