import { describe, expect, it } from 'vitest';
import { calibrateClassMeans } from '../../src/e2cm/calibrate.js';
import { computeClassMeans } from '../../src/e2cm/class-means.js';
import type { LabelledBatches } from '../../src/data/labelled-batches.js';
import { NEVER } from '../../src/e2cm/thresholds.js';
import { pearson } from '../../src/metrics/statistics.js';
import { layerTracer } from '../../src/methods/layertracer.js';
import { rise } from '../../src/methods/rise.js';
import { expectClose, randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { argmaxIndex, insideRegion, multiRegionModel, REGION, REGION_SIZE, regionModel, type Region } from '../util/region-model.js';

const engine = await testEngine();
const size = REGION_SIZE;
const plane = size * size;
const A: Region = { top: 2, left: 2, height: 4, width: 4 };
const B: Region = { top: 10, left: 8, height: 4, width: 6 };

/** Images whose `bright` regions are 1 and other `regions` 0.05, over a random background in [0.2, 0.6). */
function regionImages(count: number, seed: number, regions: Region[], bright: (i: number) => number[]): LabelledBatches {
  const data = new Float32Array(count * 3 * plane);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lit = bright(i);
    labels[i] = lit.length ? lit[0] : regions.length;
    const bg = randomArray(3 * plane, seed + i, 0.2, 0.6);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        const r = regions.findIndex((region) => insideRegion(p, size, region));
        data[(i * 3 + c) * plane + p] = r < 0 ? bg[c * plane + p] : lit.includes(r) ? 1 : 0.05;
      }
    }
  }
  return {
    count,
    shape: [3, size, size],
    batch: (s, n) => ({ data: data.slice(s * 3 * plane, (s + n) * 3 * plane), labels: labels.subarray(s, s + n) }),
  };
}

/** The one-region model's data: class 0 bright region, class 1 dark region. */
const oneRegion = (count: number, seed: number) => regionImages(count, seed, [REGION], (i) => (i % 2 === 0 ? [0] : []));

describe('LayerTracer', () => {
  it('several images per pass give the maps each image gets alone; the output map is RISE', async () => {
    const model = regionModel(engine);
    const means = await computeClassMeans(model, oneRegion(20, 100), { mode: 'full' });
    const x = engine.upload(oneRegion(3, 300).batch(0, 3).data, [3, 3, size, size], 'x');
    const settings = { masks: 90, s: 4, seed: 5, batchSize: 30, target: 0 };
    const batched = await layerTracer(model, x, means, { ...settings, imagesPerPass: 3, score: 'confidence' });
    const alone = await layerTracer(model, x, means, { ...settings, imagesPerPass: 1, score: 'confidence' });
    for (const layer of batched.layers) {
      expectClose(await batched.classMaps.get(layer)!.readF32(), await alone.classMaps.get(layer)!.readF32(), {
        atol: 1e-5,
        rtol: 1e-4,
        shape: [3, 2, size, size],
        what: `${layer} class maps, 3 images per pass vs 1`,
      });
    }
    // RISE is the output layer's confidence map: S = 1/(N p) sum_i softmax(f(x M_i))_t M_i.
    const reference = await rise(model, x, { ...settings, batchSize: 30 });
    expectClose(await batched.maps.get('output')!.readF32(), await reference.maps.readF32(), {
      atol: 1e-5,
      rtol: 1e-4,
      shape: [3, size, size],
      what: 'LayerTracer output map vs RISE',
    });
    engine.releaseAll(x, reference.maps);
    batched.release();
    alone.release();
    model.release();
  });

  it('contrastive maps peak inside the region at every exit that can see it', async () => {
    const model = regionModel(engine);
    const means = await computeClassMeans(model, oneRegion(20, 100), { mode: 'full' });
    const x = engine.upload(regionImages(4, 500, [REGION], () => [0]).batch(0, 4).data, [4, 3, size, size], 'x');
    const result = await layerTracer(model, x, means, {
      masks: 200,
      s: 4,
      batchSize: 50,
      seed: 1,
      target: 0,
      score: 'contrastive',
      baseline: true,
    });
    expect(result.layers).toEqual(['features.2', 'output']);
    for (const layer of result.layers) {
      const maps = await result.maps.get(layer)!.readF32();
      // The baseline pairs the same scores with masks the images never saw: nothing of the region is left.
      const decoys = await result.baseline!.classMaps.get(layer)!.readF32();
      for (let i = 0; i < 4; i++) {
        const map = maps.subarray(i * plane, (i + 1) * plane);
        const peak = argmaxIndex(map);
        expect(insideRegion(peak), `contrastive ${layer}, image ${i}: maximum at pixel ${peak}`).toBe(true);
        const r = pearson(map, decoys.subarray(i * 2 * plane, (i * 2 + 1) * plane), { bothConstant: 0 });
        expect(Math.abs(r), `${layer}, image ${i}: correlation of the map with its decoy-mask baseline`).toBeLessThan(0.5);
      }
    }
    result.release();
    engine.release(x);
    model.release();
  });

  it('contrastive maps of two classes on the same image differ where the exit separates those classes', async () => {
    // Class 0 reads region A, class 1 region B, class 2 neither. A class-0 image: A bright, B dark.
    const model = multiRegionModel(engine, [A, B]);
    const means = await computeClassMeans(
      model,
      regionImages(30, 100, [A, B], (i) => [[0], [1], []][i % 3]),
      { mode: 'full' },
    );
    const x = engine.upload(regionImages(1, 700, [A, B], () => [0]).batch(0, 1).data, [1, 3, size, size], 'x');
    const result = await layerTracer(model, x, means, { masks: 300, s: 4, batchSize: 50, seed: 2, target: 0, score: 'contrastive' });
    expect(result.mapClasses).toEqual([0, 1, 2]);
    const maps = await result.classMaps.get('features.2')!.readF32();
    const map0 = maps.subarray(0, plane);
    const map1 = maps.subarray(plane, 2 * plane);
    const diff = map0.map((v, p) => v - map1[p]);
    const peak = argmaxIndex(diff);
    expect(insideRegion(peak, size, A), `class 0 minus class 1: maximum at pixel ${peak}, expected inside A`).toBe(true);
    expect(insideRegion(argmaxIndex(map0), size, A), 'class 0 peaks inside A').toBe(true);
    const r = pearson(map0, map1, { bothConstant: 0 });
    expect(r, `correlation of the class-0 and class-1 maps at features.2: ${r}`).toBeLessThan(0.5);
    result.release();
    engine.release(x);
    model.release();
  });

  it("contrastive maps are the confidence maps minus the mean of the other classes' (the same masks, exactly)", async () => {
    const model = multiRegionModel(engine, [A, B]);
    const means = await computeClassMeans(
      model,
      regionImages(30, 100, [A, B], (i) => [[0], [1], []][i % 3]),
      { mode: 'full' },
    );
    const x = engine.upload(regionImages(2, 800, [A, B], (i) => [i]).batch(0, 2).data, [2, 3, size, size], 'x');
    const settings = { masks: 60, s: 4, batchSize: 30, seed: 3 };
    const conf = await layerTracer(model, x, means, { ...settings, score: 'confidence' });
    const contrastive = await layerTracer(model, x, means, { ...settings, score: 'contrastive' });
    for (const layer of conf.layers) {
      const c = await conf.classMaps.get(layer)!.readF32();
      const expected = new Float32Array(c.length);
      for (let i = 0; i < 2; i++)
        for (let k = 0; k < 3; k++)
          for (let p = 0; p < plane; p++) {
            const others = [0, 1, 2].filter((j) => j !== k).reduce((s, j) => s + c[(i * 3 + j) * plane + p], 0) / 2;
            expected[(i * 3 + k) * plane + p] = c[(i * 3 + k) * plane + p] - others;
          }
      expectClose(await contrastive.classMaps.get(layer)!.readF32(), expected, {
        atol: 1e-5,
        rtol: 1e-4,
        shape: [2, 3, size, size],
        what: `${layer}: contrastive vs confidence minus the mean of the others`,
      });
    }
    // Confidences sum to 1 over classes, so the class maps sum to the mask density.
    const c = await conf.classMaps.get('output')!.readF32();
    const summed = Float32Array.from({ length: 2 * plane }, (_, q) => {
      const [i, p] = [Math.floor(q / plane), q % plane];
      return c[i * 3 * plane + p] + c[(i * 3 + 1) * plane + p] + c[(i * 3 + 2) * plane + p];
    });
    const density = await conf.density.readF32();
    expectClose(
      summed,
      Float32Array.from(summed, (_, q) => density[q % plane]),
      { atol: 1e-5, rtol: 1e-4, shape: [2, size, size], what: 'class maps summed vs density' },
    );
    conf.release();
    contrastive.release();
    engine.release(x);
    model.release();
  });

  it('marks the exit where the calibrated confidence passes the threshold (the calibrated ones by default), none when it never fires', async () => {
    const model = regionModel(engine);
    const means = await computeClassMeans(model, oneRegion(20, 100), { mode: 'full' });
    const calibrated = await calibrateClassMeans(model, means, oneRegion(40, 200));
    const x = engine.upload(oneRegion(2, 900).batch(0, 2).data, [2, 3, size, size], 'x');
    const settings = { masks: 20, s: 4, batchSize: 20 };
    // Exiting at features.2 saves only the classifier, less than the exit costs: the search keeps it shut.
    const byDefault = await layerTracer(model, x, calibrated, settings);
    expect(byDefault.thresholds).toEqual([calibrated.calibration!.thresholds.get('features.2')]);
    expect(byDefault.thresholds).toEqual([NEVER]);
    expect(byDefault.exitLayer).toEqual([null, null]);
    // The exit separates the classes perfectly, so calibration makes it certain.
    expect(Math.min(...byDefault.confidence.map((c) => c[0]))).toBeGreaterThan(0.99);
    expect(byDefault.prediction.map((p) => p[0])).toEqual([0, 1]);
    const fires = await layerTracer(model, x, calibrated, { ...settings, thresholds: 0.9 });
    expect(fires.exitLayer).toEqual(['features.2', 'features.2']);
    byDefault.release();
    fires.release();
    engine.release(x);
    model.release();
  });
});
