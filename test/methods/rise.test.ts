import { describe, expect, it } from 'vitest';
import { generateRiseMasks } from '../../src/kernels/rise-masks.js';
import { rise } from '../../src/methods/rise.js';
import { expectClose, randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { argmaxIndex, insideRegion, REGION_SIZE, regionModel, regionModelLogitsCpu } from '../util/region-model.js';
import { riseMaskRef } from '../reference/rise-masks.js';

const engine = await testEngine();

describe('RISE', () => {
  // The masks and masked inputs against the CPU reference: test/kernels/rise-masks.cases.ts (also in Chromium).
  it('a mask depends only on its global index, not on the batch it falls in', async () => {
    const a = generateRiseMasks(engine, { s: 7, p: 0.5, seed: 9 }, 10, 5, [16, 16]);
    const b = generateRiseMasks(engine, { s: 7, p: 0.5, seed: 9 }, 12, 1, [16, 16]);
    const [av, bv] = [await a.readF32(), await b.readF32()];
    engine.releaseAll(a, b);
    expectClose(bv, av.subarray(2 * 256, 3 * 256), { atol: 0, rtol: 0, what: 'mask 12' });
  });

  it('saliency equals a CPU computation of 1/(N p) sum_i softmax(f(x*M_i))_c M_i on a tiny model', async () => {
    const size = REGION_SIZE;
    const model = regionModel(engine);
    const xHost = randomArray(3 * size * size, 5, 0.1, 1);
    const x = engine.upload(xHost, [1, 3, size, size], 'x');
    const N = 50;
    const result = await rise(model, x, { masks: N, s: 4, p: 0.5, seed: 7, batchSize: 16, target: 0 });
    const got = await result.maps.readF32();
    const expected = new Float64Array(size * size);
    for (let i = 0; i < N; i++) {
      const m = riseMaskRef(i, 4, 0.5, 7, size, size);
      const masked = xHost.map((v, k) => v * m[k % (size * size)]);
      const logits = regionModelLogitsCpu(masked, 1);
      const p0 = 1 / (1 + Math.exp(logits[1] - logits[0]));
      for (let k = 0; k < m.length; k++) expected[k] += (p0 * m[k]) / (N * 0.5);
    }
    expectClose(got, Float32Array.from(expected), { atol: 1e-5, rtol: 1e-4, shape: [size, size], what: 'RISE vs CPU' });
    expect(insideRegion(argmaxIndex(got)), 'RISE maximum inside the region the model looks at').toBe(true);
    engine.releaseAll(x, result.maps);
    model.release();
  });

  it('GPU memory stays flat whatever N is', async () => {
    const model = regionModel(engine);
    const x = engine.upload(randomArray(3 * REGION_SIZE * REGION_SIZE, 6, 0.1, 1), [1, 3, REGION_SIZE, REGION_SIZE], 'x');
    const peak = async (masks: number) => {
      engine.pool.resetPeak();
      const r = await rise(model, x, { masks, batchSize: 8 });
      engine.release(r.maps);
      return engine.pool.stats.peakLiveBytes;
    };
    const small = await peak(16);
    const large = await peak(400);
    expect(large, `peak live bytes ${large} with 400 masks vs ${small} with 16`).toBeLessThanOrEqual(small);
    engine.release(x);
    model.release();
  });

  it('rejects bad settings clearly', async () => {
    const model = regionModel(engine);
    const x = engine.upload(randomArray(3 * 256, 1, 0, 1), [1, 3, 16, 16], 'x');
    await expect(rise(model, x, { masks: 0 })).rejects.toThrow(/masks must be a positive integer/);
    await expect(rise(model, x, { p: 1.5 })).rejects.toThrow(/keep probability/);
    await expect(rise(model, x, { s: 1 })).rejects.toThrow(/grid size/);
    engine.release(x);
    model.release();
  });
});
