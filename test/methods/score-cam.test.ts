import { describe, expect, it } from 'vitest';
import { modelFromFile, type Model } from '../../src/graph/model.js';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { scoreCam } from '../../src/methods/score-cam.js';
import type { Engine } from '../../src/gpu/engine.js';
import { compareClose, randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { argmaxIndex, insideRegion, REGION, REGION_SIZE } from '../util/region-model.js';

const engine = await testEngine();
const size = REGION_SIZE;
const plane = size * size;
const pooled = size / 2;

/**
 * A region model with two channels at `features.1`: channel 0 = ReLU(mean RGB) (bright where the object is),
 * channel 1 = ReLU(1 - mean RGB) (bright everywhere else). The class-0 logit reads channel 0 inside the region
 * only, so masking with channel 0 keeps the evidence and channel 1 removes it: Score-CAM must weight channel 0
 * (nearly) alone and peak in the region. Equal weights would give a flat map, swapped weights a background peak.
 */
function twoChannelRegionModel(e: Engine, gain = 4): Model {
  const cls = new Float32Array(2 * 2 * pooled * pooled);
  const cells = (REGION.height * REGION.width) / 4;
  for (let y = REGION.top / 2; y < (REGION.top + REGION.height) / 2; y++)
    for (let x = REGION.left / 2; x < (REGION.left + REGION.width) / 2; x++) cls[y * pooled + x] = gain / cells; // class 0, channel 0
  const third = 1 / 3;
  const bytes = writeSafetensors(
    {
      'features.0.weight': { dtype: 'F32', shape: [2, 3, 1, 1], data: new Float32Array([third, third, third, -third, -third, -third]) },
      'features.0.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0, 1]) },
      'classifier.weight': { dtype: 'F32', shape: [2, 2 * pooled * pooled], data: cls },
      'classifier.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0, gain / 2]) },
    },
    {
      architecture: 'plain_cnn',
      input_size: JSON.stringify([size, size]),
      normalize: JSON.stringify({ mean: [0, 0, 0], std: [1, 1, 1] }),
      classes: JSON.stringify(['region', 'other']),
    },
  );
  return modelFromFile(e, parseSafetensors(bytes, 'two-channel-region-model'));
}

/** Bright object in the region over a random mid-grey background. */
function regionImages(n: number, seed: number): Float32Array {
  const data = new Float32Array(n * 3 * plane);
  for (let i = 0; i < n; i++) {
    const bg = randomArray(3 * plane, seed + i, 0.2, 0.6);
    for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) data[(i * 3 + c) * plane + p] = insideRegion(p) ? 1 : bg[c * plane + p];
  }
  return data;
}

describe('Score-CAM', () => {
  it('on a model whose class depends on one region only, peaks inside the region', async () => {
    const model = twoChannelRegionModel(engine);
    const n = 3;
    const x = engine.upload(regionImages(n, 40), [n, 3, size, size], 'x');
    const a = await scoreCam(model, x, { layer: 'features.1', target: 0 });
    const maps = await a.maps.readF32();
    for (let i = 0; i < n; i++) {
      const map = maps.subarray(i * plane, (i + 1) * plane);
      const peak = argmaxIndex(map);
      expect(insideRegion(peak), `image ${i}: Score-CAM maximum at pixel (${Math.floor(peak / size)}, ${peak % size})`).toBe(true);
      // Not just the maximum: the region's mean is well above the background's.
      let inside = 0;
      let outside = 0;
      for (let p = 0; p < plane; p++) {
        if (insideRegion(p)) inside += map[p] / 24;
        else outside += map[p] / (plane - 24);
      }
      expect(inside, `image ${i}: mean inside ${inside.toFixed(3)} vs outside ${outside.toFixed(3)}`).toBeGreaterThan(outside + 0.3);
    }
    engine.releaseAll(x, a.maps);
    model.release();
  });

  it('gives the same maps whatever the batch of masked images', async () => {
    const model = twoChannelRegionModel(engine);
    const x = engine.upload(regionImages(2, 70), [2, 3, size, size], 'x');
    const one = await scoreCam(model, x, { layer: 'features.1', batchSize: 1 });
    const all = await scoreCam(model, x, { layer: 'features.1', batchSize: 64 });
    const r = compareClose(await one.maps.readF32(), await all.maps.readF32(), { atol: 1e-6, rtol: 0, what: 'batch 1 vs batch 64' });
    expect(r.ok, r.message).toBe(true);
    engine.releaseAll(x, one.maps, all.maps);
    model.release();
  });

  it('refuses a non-spatial layer and a bad batch size before running', async () => {
    const model = twoChannelRegionModel(engine);
    const x = engine.upload(regionImages(1, 90), [1, 3, size, size], 'x');
    await expect(scoreCam(model, x, { layer: 'classifier' })).rejects.toThrow(/spatial/);
    await expect(scoreCam(model, x, { layer: 'features.1', batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer, got 0/);
    engine.release(x);
    model.release();
  });
});
