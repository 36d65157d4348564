import { describe, expect, it } from 'vitest';
import { computeClassMeans } from '../../src/e2cm/class-means.js';
import { l2caf } from '../../src/methods/l2caf.js';
import { layerTracer } from '../../src/methods/layertracer.js';
import { expectClose, randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { argmaxIndex, insideRegion, REGION, REGION_SIZE, regionModel } from '../util/region-model.js';

const engine = await testEngine();
const size = REGION_SIZE;
const plane = size * size;

/** Class 0 images: bright region; class 1: dark region; identical random backgrounds otherwise. */
function regionDataset(count: number, seed: number) {
  const data = new Float32Array(count * 3 * plane);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    const bg = randomArray(3 * plane, seed + i, 0.2, 0.6);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        const y = Math.floor(p / size);
        const x = p % size;
        const inside = y >= REGION.top && y < REGION.top + REGION.height && x >= REGION.left && x < REGION.left + REGION.width;
        data[(i * 3 + c) * plane + p] = inside ? (labels[i] === 0 ? 1 : 0.05) : bg[c * plane + p];
      }
    }
  }
  return {
    count,
    shape: [3, size, size] as [number, number, number],
    batch: (s: number, n: number) => ({ data: data.slice(s * 3 * plane, (s + n) * 3 * plane), labels: labels.subarray(s, s + n) }),
  };
}

describe('on a model whose output depends on one region only', () => {
  it('LayerTracer puts every exit map maximum and the output map maximum inside the region', async () => {
    const model = regionModel(engine);
    const means = await computeClassMeans(model, regionDataset(20, 100), { mode: 'full' });
    const x = engine.upload(regionDataset(1, 500).batch(0, 1).data, [1, 3, size, size], 'x');
    const result = await layerTracer(model, x, means, { masks: 200, s: 4, batchSize: 50, seed: 1 });
    expect(result.layers).toEqual(['features.2', 'output']);
    for (const layer of result.layers) {
      const map = await result.maps.get(layer)!.readF32();
      expect(insideRegion(argmaxIndex(map)), `LayerTracer ${layer} maximum at pixel ${argmaxIndex(map)}`).toBe(true);
    }
    result.release();
    engine.release(x);
    model.release();
  });

  // The optimiser settings of docs/design.md §2.13 (lr 0.5 decaying over 1000 steps) with a step size suited to this
  // 16x16 toy (||F|| starts at 16, so SGD steps are tiny at lr 0.5): it converges, and the default
  // plateau rule (loss change < 1e-6 over 50 steps) then stops it well before 1000 steps.
  it('L2-CAF (class-specific and class-oblivious) puts its maximum inside the region; loss decreases; the stopping rule fires', async () => {
    const model = regionModel(engine);
    const x = engine.upload(regionDataset(1, 700).batch(0, 1).data, [1, 3, size, size], 'x');
    for (const mode of ['specific', 'oblivious'] as const) {
      const r = await l2caf(model, x, { layer: 'features.1', mode, target: 0, learningRate: 50 });
      const map = await r.maps.readF32();
      const { losses, stoppedEarly, steps } = r.optimisation[0];
      expect(insideRegion(argmaxIndex(map)), `L2-CAF ${mode} maximum at pixel ${argmaxIndex(map)}`).toBe(true);
      expect(losses[losses.length - 1], `${mode} loss ${losses[0]} -> ${losses[losses.length - 1]}`).toBeLessThan(losses[0]);
      expect(stoppedEarly, `${mode}: stopped after ${steps} of 1000 steps`).toBe(true);
      expect(steps).toBeLessThan(1000);
      engine.release(r.maps);
    }
    engine.release(x);
    model.release();
  });

  it('L2-CAF on a batch follows, image by image, the path each image takes alone (own steps, own stop)', async () => {
    const model = regionModel(engine);
    const n = 3;
    const host = regionDataset(n, 900).batch(0, n).data;
    const x = engine.upload(host, [n, 3, size, size], 'x');
    const batched = await l2caf(model, x, { layer: 'features.1', mode: 'specific', target: [0, 1, 0], learningRate: 50 });
    const together = await batched.maps.readF32();
    for (let i = 0; i < n; i++) {
      const xi = engine.upload(host.slice(i * 3 * plane, (i + 1) * 3 * plane), [1, 3, size, size], 'xi');
      const alone = await l2caf(model, xi, { layer: 'features.1', mode: 'specific', target: [0, 1, 0][i], learningRate: 50 });
      expect(batched.optimisation[i].steps, `image ${i}: steps in the batch vs alone`).toBe(alone.optimisation[0].steps);
      expectClose(together.subarray(i * plane, (i + 1) * plane), await alone.maps.readF32(), {
        atol: 1e-4,
        rtol: 1e-3,
        shape: [size, size],
        what: `L2-CAF map of image ${i}`,
      });
      engine.releaseAll(xi, alone.maps);
    }
    engine.releaseAll(x, batched.maps);
    model.release();
  });
});
