/**
 * Batches sized to the adapter's binding limit (graph/pass-size.ts). A kernel binds each tensor whole, so
 * a method whose default batch makes a tensor past the limit used to stop half-way with a GpuLimitError
 * (RISE and Score-CAM on ResNet-50 at 224 x 224, SmoothGrad and Integrated Gradients on VGG-16). Here an
 * engine with a binding limit of a few images (`maxBindingBytes`) runs the batched methods and dataset
 * loops at their default batch sizes on a CIFAR ResNet-20, and must give what an engine with the adapter's
 * own limit gives; a batch of images that cannot fit one pass is refused up front, naming how many can.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { LabelledBatches } from '../../src/data/labelled-batches.js';
import { computeClassMeans } from '../../src/e2cm/class-means.js';
import { datasetFromFile } from '../../src/data/image-dataset.js';
import { datasetSource } from '../../src/features/image-source.js';
import { extractFeatures } from '../../src/features/representation.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { acquireEngine } from '../../src/gpu/acquire.js';
import type { Engine } from '../../src/gpu/engine.js';
import { KernelInputError } from '../../src/gpu/errors.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { seededModel, type Model } from '../../src/graph/model.js';
import { selectConv2dVariant } from '../../src/kernels/conv2d.js';
import { imagesPerPass, imagesPerPassFor, largestBindingPerImage, largestBindingPerImageFor } from '../../src/graph/pass-size.js';
import { gradCam } from '../../src/methods/grad-cam.js';
import { integratedGradients } from '../../src/methods/integrated-gradients.js';
import { layerTracer } from '../../src/methods/layertracer.js';
import { rise } from '../../src/methods/rise.js';
import { scoreCam } from '../../src/methods/score-cam.js';
import { smoothGrad } from '../../src/methods/smooth-grad.js';
import { causalMetrics } from '../../src/metrics/insertion-deletion.js';
import { seededInput, seededValues } from '../../src/models/seeded-init.js';
import { expectClose } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

const SIZE = 32;
const IMAGE: [number, number, number] = [3, SIZE, SIZE];
const FIT = 4;

const wide = await testEngine();
// The largest buffer a CIFAR ResNet-20 pass binds per image: on the subgroup GEMMs, which read x and dy
// in place, a 16 x 32 x 32 activation; the register and shared GEMMs also make a padded copy of dy for a
// 16-channel 3x3's backward, 16 x 36 x 36 (conv2dScratchPerImage in kernels/conv2d.ts).
const BYTES_PER_IMAGE = (selectConv2dVariant(wide) === 'subgroup' ? 16 * 32 * 32 : 16 * 36 * 36) * 4;
const narrow = await acquireEngine({ poisonEmpty: true, maxBindingBytes: FIT * BYTES_PER_IMAGE + 100 });
const build = (e: Engine) => seededModel(e, 'cifar_resnet20', (name, shape) => seededValues(name, shape, 0), 10);
const models = { wide: build(wide), narrow: build(narrow) };
afterAll(() => {
  models.wide.release();
  models.narrow.release();
  narrow.destroy();
});
const input = (e: Engine, n: number, seed = 1) => e.upload(seededInput([n, ...IMAGE], seed), [n, ...IMAGE], 'x');

/** Runs `run` on both engines and compares what it returns. */
async function sameOnBoth(what: string, run: (m: Model) => Promise<Float32Array>, tol = { atol: 1e-5, rtol: 1e-4 }): Promise<void> {
  const expected = await run(models.wide);
  const actual = await run(models.narrow);
  expectClose(actual, expected, { ...tol, what: `${what}, ${FIT} images per binding vs the adapter's limit` });
}

async function mapsOf(result: Promise<{ maps: Tensor }>): Promise<Float32Array> {
  const { maps } = await result;
  const host = await maps.readF32();
  maps.engine.release(maps);
  return host;
}

function labelledImages(count: number): LabelledBatches {
  const data = seededInput([count, ...IMAGE], 7);
  const plane = 3 * SIZE * SIZE;
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  return { count, shape: IMAGE, batch: (s, n) => ({ data: data.slice(s * plane, (s + n) * plane), labels: labels.subarray(s, s + n) }) };
}

describe('images per pass', () => {
  it('finds the largest binding per image, whatever the batch of the trace', () => {
    for (const n of [1, 3]) {
      const x = input(wide, n);
      const trace = models.wide.forward(x, { forBackward: false });
      expect(largestBindingPerImage(trace)).toBe(BYTES_PER_IMAGE);
      trace.release();
      wide.release(x);
    }
    expect(largestBindingPerImageFor(models.narrow, IMAGE)).toBe(BYTES_PER_IMAGE);
  });

  it('takes the requested batch where it fits and what fits where it does not, never less than one image', () => {
    const x = input(narrow, 1);
    const trace = models.narrow.forward(x, { forBackward: false });
    expect([64, FIT, 3, 1].map((n) => imagesPerPass(narrow, trace, n))).toEqual([FIT, FIT, 3, 1]);
    trace.release();
    narrow.release(x);
    expect(imagesPerPassFor(models.narrow, IMAGE, 64)).toBe(FIT);
    expect(imagesPerPassFor(models.wide, IMAGE, 64)).toBe(64);
    // A larger input makes every tensor larger: a 64 x 64 image fits once.
    expect(imagesPerPassFor(models.narrow, [3, 64, 64], 64)).toBe(1);
  });

  it('refuses a batch of images that cannot share one pass before running it, naming how many can', async () => {
    const x = input(narrow, FIT + 1);
    const dispatches = narrow.stats.dispatches;
    const attempt = gradCam(models.narrow, x);
    await expect(attempt).rejects.toThrow(KernelInputError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`${FIT + 1} images of 3x32x32 .* over this engine's maxBindingBytes .*; pass at most ${FIT} images at a time`),
    );
    // Only the probe pass (one image, made once per model and size) ran.
    expect(narrow.stats.dispatches - dispatches).toBeLessThan(40);
    narrow.release(x);
    await mapsOf(gradCam(models.narrow, input(narrow, FIT)));
  });
});

describe('batched methods at their default batch sizes under a small binding limit', () => {
  it('refuse a batch size that is not a positive integer before any pass', async () => {
    const x = input(narrow, 1);
    const m = models.narrow;
    const refused = /batchSize must be a positive integer, got (0|1.5|NaN)/;
    await expect(smoothGrad(m, x, { batchSize: 0 })).rejects.toThrow(refused);
    await expect(integratedGradients(m, x, { batchSize: 1.5 })).rejects.toThrow(refused);
    await expect(causalMetrics(m, x, new Float32Array(SIZE * SIZE), { batchSize: 0 })).rejects.toThrow(refused);
    await expect(rise(m, x, { batchSize: NaN })).rejects.toThrow(refused);
    narrow.release(x);
  });

  it('RISE (64 masks a pass by default)', async () => {
    await sameOnBoth('RISE maps', (m) => mapsOf(rise(m, input(m.engine, 2), { masks: 40, s: 4, seed: 3 })));
  });

  it('Score-CAM (64 channels a pass by default)', async () => {
    await sameOnBoth('Score-CAM maps', (m) => mapsOf(scoreCam(m, input(m.engine, 1), { layer: 'layer2' })));
  });

  it('SmoothGrad and Integrated Gradients (16 copies a pass by default)', async () => {
    await sameOnBoth('SmoothGrad maps', (m) => mapsOf(smoothGrad(m, input(m.engine, 1), { samples: 10, seed: 2 })));
    await sameOnBoth('Integrated Gradients maps', (m) => mapsOf(integratedGradients(m, input(m.engine, 1), { steps: 10 })));
  });

  it('insertion and deletion (32 step images a pass by default)', async () => {
    const saliency = seededInput([SIZE * SIZE], 4);
    await sameOnBoth('insertion and deletion curves', async (m) => {
      const r = await causalMetrics(m, input(m.engine, 1), saliency, { pixelsPerStep: 16 });
      return Float32Array.from([...r.insertion.scores, ...r.deletion.scores]);
    });
  });

  it('features of a dataset (50 images a pass by default)', async () => {
    const dataset = datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors')));
    await sameOnBoth('layer3 features', async (m) => (await extractFeatures(m, datasetSource(dataset, 12), { layer: 'layer3' })).data);
  });

  it('class means over a dataset (50 images a pass by default) and LayerTracer on them', async () => {
    const data = labelledImages(12);
    const means = { wide: await computeClassMeans(models.wide, data), narrow: await computeClassMeans(models.narrow, data) };
    for (const layer of means.wide.exits)
      expectClose(means.narrow.means.get(layer)!, means.wide.means.get(layer)!, {
        atol: 1e-5,
        rtol: 1e-4,
        what: `class means at ${layer}`,
      });
    await sameOnBoth('LayerTracer output maps', async (m) => {
      const r = await layerTracer(m, input(m.engine, 2), m === models.wide ? means.wide : means.narrow, { masks: 30, s: 4, seed: 1 });
      const host = await r.maps.get('output')!.readF32();
      r.release();
      return host;
    });
  });
});
