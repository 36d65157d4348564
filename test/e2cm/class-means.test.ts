import { describe, expect, it } from 'vitest';
import { tensorSet } from '../../src/data/labelled-source.js';
import { datasetFromFile } from '../../src/data/image-dataset.js';
import { assertMeansFitModel, computeClassMeans } from '../../src/e2cm/class-means.js';
import { observeExits, predictExits, simulateEarlyExit } from '../../src/e2cm/early-exit.js';
import { exitFeature } from '../../src/e2cm/features.js';
import { classMeansFromFile, classMeansToTensors } from '../../src/e2cm/means-file.js';
import { modelFromFile } from '../../src/graph/model.js';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { expectClose } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

const engine = await testEngine();
const model = modelFromFile(engine, await readSafetensorsFile(cifarFile('resnet20.safetensors')));
const set = tensorSet(datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors'))));
const TRAIN = { start: 0, count: 60 };

describe('E2CM class means and early exits (ResNet-20, real CIFAR-10 images)', () => {
  it('exits are the stem and every residual block', () => {
    expect(model.exitLayers).toEqual(['relu', ...[1, 2, 3].flatMap((s) => [0, 1, 2].map((b) => `layer${s}.${b}`))]);
  });

  it('class means equal means computed image by image on the CPU', async () => {
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN), { batchSize: 25 });
    const data = set.batches(model.info, TRAIN);
    for (const layer of ['relu', 'layer2.1', 'layer3.2']) {
      const dim = means.dims.get(layer)!;
      const sums = new Float64Array(10 * dim);
      const counts = new Array(10).fill(0);
      for (let i = 0; i < TRAIN.count; i++) {
        const { data: host, labels } = data.batch(i, 1);
        const x = engine.upload(host, [1, 3, 32, 32], 'x');
        const trace = model.forward(x, { keep: [layer], forBackward: false });
        const f = exitFeature(engine, trace, layer, 'gap');
        const v = await f.readF32();
        engine.releaseAll(f, x);
        trace.release();
        counts[labels[0]]++;
        for (let d = 0; d < dim; d++) sums[labels[0] * dim + d] += v[d];
      }
      const cpu = Float32Array.from(sums, (s, i) => s / counts[Math.floor(i / dim)]);
      expectClose(means.means.get(layer)!, cpu, { atol: 1e-5, rtol: 1e-4, shape: [10, dim], what: `class means at ${layer}` });
      expect(means.counts).toEqual(counts);
    }
    for (const t of means.temperatures.values()) expect(t, 'uncalibrated means have temperature 1').toBe(1);
    expect(means.calibration).toBeNull();
  });

  it('each class scale is the mean distance of its training images to their class mean', async () => {
    const layer = 'layer2.2';
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN), { exits: [layer], batchSize: 30 });
    const mu = means.means.get(layer)!;
    const dim = means.dims.get(layer)!;
    const x = engine.upload(set.batches(model.info, TRAIN).batch(0, TRAIN.count).data, [TRAIN.count, 3, 32, 32], 'x');
    const trace = model.forward(x, { keep: [layer], forBackward: false });
    const f = exitFeature(engine, trace, layer, 'gap');
    const feats = await f.readF32();
    engine.releaseAll(f, x);
    trace.release();
    const labels = set.batches(model.info, TRAIN).batch(0, TRAIN.count).labels;
    const sums = new Float64Array(10);
    for (let i = 0; i < TRAIN.count; i++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) d2 += (feats[i * dim + d] - mu[labels[i] * dim + d]) ** 2;
      sums[labels[i]] += Math.sqrt(d2);
    }
    const cpu = Float32Array.from(sums, (s, k) => s / means.counts[k]);
    expectClose(means.scales.get(layer)!, cpu, { atol: 1e-4, rtol: 1e-3, shape: [10], what: `distance scales at ${layer}` });
  });

  it('round-trips through a safetensors file', async () => {
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN), { exits: ['layer1.0', 'layer3.2'] });
    const { tensors, metadata } = classMeansToTensors(means);
    const back = classMeansFromFile(parseSafetensors(writeSafetensors(tensors, metadata), 'means'));
    expect(back.exits).toEqual(means.exits);
    expect(back.temperatures.get('layer3.2')).toBeCloseTo(means.temperatures.get('layer3.2')!, 5);
    expect(Array.from(back.means.get('layer1.0')!)).toEqual(Array.from(means.means.get('layer1.0')!));
    expect(Array.from(back.scales.get('layer3.2')!)).toEqual(Array.from(means.scales.get('layer3.2')!));
    expect(back.legacy).toBe(false);
    expect(back.calibration).toBeNull();
  });

  it('early exit with thresholds that never fire reproduces the final classifier exactly', async () => {
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN));
    const obs = predictExits(
      await observeExits(model, means, set.batches(model.info, { start: 60, count: 40 })),
      means.exits.map(() => 1),
    );
    const never = simulateEarlyExit(obs, 1.01);
    expect(never.predictions).toEqual(obs.finalPrediction);
    expect(never.computeFraction).toBe(1);
    expect(never.exitCounts[never.exitCounts.length - 1]).toBe(40);
    const eager = simulateEarlyExit(obs, 0);
    expect(eager.exitCounts[0], 'threshold 0: every image leaves at the first exit').toBe(40);
    expect(eager.computeFraction).toBeLessThan(0.2);
  });

  it('refuses a training set that misses a class', async () => {
    await expect(computeClassMeans(model, set.batches(model.info, { start: 0, count: 5 }))).rejects.toThrow(
      /no training images for class\(es\)/,
    );
  });

  it('refuses class means that do not fit the model', async () => {
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN), { exits: ['layer1.0'] });
    means.exits = ['layer9.9'];
    await expect(observeExits(model, means, set.batches(model.info, { start: 0, count: 5 }))).rejects.toThrow(/layer9.9/);
  });

  it('refuses class means made for another model with the same number of classes', async () => {
    const means = await computeClassMeans(model, set.batches(model.info, TRAIN), { exits: ['layer1.0'] });
    means.classes = means.classes.map((c, k) => (k === 3 ? 'hexagon' : c));
    expect(() => assertMeansFitModel(means, model)).toThrow(/class 3 "hexagon" but the model calls it "cat"/);
  });
});
