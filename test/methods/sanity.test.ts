import { paramValue } from '../../src/graph/ops/op.js';
import { describe, expect, it } from 'vitest';
import { openLabelledSet } from '../../src/data/labelled-source.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { findMethod } from '../../src/methods/registry.js';
import { ModelRandomiser, randomisableLayers } from '../../src/sanity/randomise.js';
import { modelRandomisationTest, SIMILARITY_MEASURES } from '../../src/sanity/sanity.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';
import { releaseConv2dWeightCache } from '../../src/kernels/conv2d.js';

const engine = await testEngine();
const model = modelFromFile(engine, await readSafetensorsFile(cifarFile('resnet20.safetensors')));
const set = await openLabelledSet(cifarFile('test1000.safetensors'));
const IMAGES = 12;
const data = set.batches(model.info, { start: 0, count: IMAGES });

describe('model-parameter randomisation (Adebayo et al. 2018) on the CIFAR ResNet-20', () => {
  it('names the randomisable layers output first: blocks, with each batch-norm joined to its conv', () => {
    expect(randomisableLayers(model).map((l) => l.name)).toEqual([
      'linear',
      'layer3.2',
      'layer3.1',
      'layer3.0',
      'layer2.2',
      'layer2.1',
      'layer2.0',
      'layer1.2',
      'layer1.1',
      'layer1.0',
      'conv1',
    ]);
    const modules = randomisableLayers(model, 'module').map((l) => l.name);
    expect(modules.slice(0, 3)).toEqual(['linear', 'layer3.2.conv2', 'layer3.2.conv1']);
    expect(modules).toHaveLength(20); // 19 convs (each with its batch-norm) + linear
  });

  it("cascading: Grad-CAM's rank correlation falls near zero with every layer random; an edge detector's stays 1; the model is untouched", async () => {
    const x = engine.upload(data.batch(0, IMAGES).data, [IMAGES, ...data.shape], 'images');
    const before = await model.logits(x);
    // Conv weights get packed / Winograd copies on first use, cached per weight and batch shape (the trained
    // model's stay for its lifetime): count without any, so only what the randomised copies leave is measured.
    releaseConv2dWeightCache(engine);
    await engine.finish();
    const liveBefore = engine.pool.stats.liveBytes;
    const r = await modelRandomisationTest(model, data, [findMethod('grad-cam'), findMethod('edge')], { batchSize: 8, resamples: 500 });
    releaseConv2dWeightCache(engine);
    await engine.finish();
    expect(engine.pool.stats.liveBytes - liveBefore, 'bytes still live after the test (randomised copies must be released)').toBe(0);
    const after = await model.logits(x);
    engine.release(x);
    expect(Array.from(after), 'logits of the loaded model after the test').toEqual(Array.from(before));

    expect(r.steps).toHaveLength(11);
    expect(r.steps[10].randomised).toHaveLength(11);
    const all = r.steps[r.steps.length - 1].summary['grad-cam'];
    expect(r.steps[10].perImage['grad-cam']).toHaveLength(IMAGES);
    expect(Math.abs(all.spearmanAbs.mean), `Grad-CAM Spearman with every layer random: ${all.spearmanAbs.mean}`).toBeLessThan(0.3);
    expect(Math.abs(all.ssim.mean), `Grad-CAM SSIM with every layer random: ${all.ssim.mean}`).toBeLessThan(0.3);
    for (const step of r.steps) {
      for (const measure of SIMILARITY_MEASURES) {
        const v = step.summary.edge[measure];
        expect(v.lo, `edge ${measure} with ${step.layer} randomised`).toBeGreaterThan(1 - 1e-9);
      }
    }
  });

  it('independent: one layer at a time; randomising only the head already changes Grad-CAM', async () => {
    const r = await modelRandomisationTest(model, set.batches(model.info, { start: 20, count: 4 }), [findMethod('grad-cam')], {
      mode: 'independent',
      resamples: 200,
    });
    expect(r.steps.map((s) => s.randomised)).toEqual(randomisableLayers(model).map((l) => [l.name]));
    expect(r.steps[0].summary['grad-cam'].spearmanAbs.mean).toBeLessThan(0.9);
  });

  it('a randomised copy keeps each tensor mean and spread, and reuses the same values for the same layer', async () => {
    const randomiser = new ModelRandomiser(model, 3);
    const head = randomisableLayers(model)[1]; // layer3.2
    const a = await randomiser.copyWith(head.nodes);
    const b = await randomiser.copyWith(head.nodes);
    const i = head.nodes[0];
    const orig = model.graph.nodes[i];
    const ra = a.graph.nodes[i];
    expect(ra).not.toBe(orig);
    expect(b.graph.nodes[i]).toBe(ra);
    expect(a.graph.nodes[0]).toBe(model.graph.nodes[0]); // untouched layers are shared
    if (orig.op !== 'conv' || ra.op !== 'conv') throw new Error('layer3.2 starts with a conv');
    const stats = (v: Float32Array) => {
      const m = v.reduce((s, x) => s + x, 0) / v.length;
      return [m, Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length)];
    };
    const [mo, so] = stats(await paramValue(orig.weight).readF32());
    const [mr, sr] = stats(await paramValue(ra.weight).readF32());
    expect(Math.abs(mr - mo)).toBeLessThan(0.05 * so);
    expect(sr / so).toBeCloseTo(1, 1);
    randomiser.release();
  });
});
