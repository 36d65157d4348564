/**
 * The high-level API under Node (src/node.ts): loadModel / readImage / explain / predict / writePng on
 * the embedded default model and generated pictures whose class is known. Its results must equal the
 * low-level path they wrap (same map, same overlay rendering), errors must come before GPU work, and
 * the shared engine must live exactly as long as the models built on it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSample, SPLIT_SEEDS, SYNTHETIC_CLASSES } from '../../src/data/synthetic/index.js';
import {
  embeddedModelPath,
  encodePng,
  explain,
  gradCam,
  gradientToImage,
  guidedBackprop,
  inputBatch,
  loadModel,
  overlayHeatmap,
  predict,
  readImage,
  writePng,
  type Model,
  type RgbImage,
} from '../../src/node.js';
import { acquireEngine } from '../../src/gpu/acquire.js';
import { largestBindingPerImageFor } from '../../src/graph/pass-size.js';
import { stretchToUnit } from '../../src/util/stretch.js';

const sample = (i: number): { image: RgbImage; label: number } => {
  const s = generateSample(SPLIT_SEEDS.test, i);
  return { image: { width: 64, height: 64, data: s.image }, label: s.label };
};

const dir = mkdtempSync(join(tmpdir(), 'layertracer-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function worstDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('high-level API (Node)', () => {
  it('explains a PNG read from a path and from a Buffer like the low-level Grad-CAM, and writes the overlay', async () => {
    const { image, label } = sample(0);
    const path = join(dir, 'sample0.png');
    await writePng(path, image);
    using model = await loadModel('default-vgg');
    const fromPath = await readImage(path);
    expect(fromPath).toEqual(image);
    expect(await readImage(readFileSync(path))).toEqual(image);

    const result = await explain(model, fromPath, { method: 'grad-cam', target: 'top1' });
    expect(result.predictions.map((p) => p.index)[0], `the model should see a ${SYNTHETIC_CLASSES[label]}`).toBe(label);
    expect(result.predictions).toHaveLength(5);
    for (let k = 1; k < 5; k++) expect(result.predictions[k].prob).toBeLessThanOrEqual(result.predictions[k - 1].prob);
    expect(result.target).toBe(label);
    expect(result.targetLabel).toBe(SYNTHETIC_CLASSES[label]);
    expect(result.layer).toBe(model.defaultCamLayer);
    expect(result.shape).toEqual([1, 64, 64]);

    using x = inputBatch(model, image);
    const low = await gradCam(model, x, { target: 'top1' });
    const lowMap = await low.maps.readF32();
    low.maps.release();
    const worst = worstDifference(result.map, lowMap);
    expect(worst, `explain's map differs from gradCam's by ${worst}`).toBe(0);
    // The overlay is the stretched map over the picture (RISE maps are not in [0, 1]; this one nearly is).
    expect(result.overlay).toEqual(overlayHeatmap(image, stretchToUnit(result.map), 64, 64, { colormap: 'jet', alpha: 0.5 }));

    const out = join(dir, 'overlay.png');
    await writePng(out, result.overlay);
    expect(readFileSync(out)).toEqual(Buffer.from(encodePng(result.overlay)));
  });

  it('takes a class by name or index, a signed method, a batch, and an overlay size', async () => {
    using model = await loadModel(embeddedModelPath('default-vgg'));
    const { image } = sample(1);
    const byName = await explain(model, image, { method: 'layer-cam', target: 'star' });
    const byIndex = await explain(model, image, { method: 'layer-cam', target: SYNTHETIC_CLASSES.indexOf('star') });
    expect(byName.target).toBe(SYNTHETIC_CLASSES.indexOf('star'));
    expect(worstDifference(byName.map, byIndex.map)).toBe(0);

    const signed = await explain(model, image, { method: 'guided-backprop' });
    expect(signed.kind).toBe('signed');
    expect(signed.shape).toEqual([3, 64, 64]);
    expect(signed.layer).toBeUndefined();
    expect(signed.overlay).toEqual(gradientToImage(signed.map, 3, 64, 64));
    using x = inputBatch(model, image);
    const low = await guidedBackprop(model, x);
    expect(worstDifference(signed.map, await low.maps.readF32())).toBe(0);
    low.maps.release();

    const images = [sample(2).image, sample(3).image];
    const batch = await explain(model, images, { method: 'grad-cam' });
    expect(batch).toHaveLength(2);
    for (const [i, img] of images.entries()) {
      const alone = await explain(model, img, { method: 'grad-cam' });
      const worst = worstDifference(batch[i].map, alone.map);
      expect(worst, `image ${i}: batched and alone differ by ${worst}`).toBeLessThan(1e-5);
      expect(batch[i].predictions.map((p) => p.index)).toEqual(alone.predictions.map((p) => p.index));
    }

    const big = await explain(model, image, { overlaySize: 256, topK: 3 });
    expect([big.overlay.width, big.overlay.height]).toEqual([256, 256]);
    expect(big.predictions).toHaveLength(3);
  });

  it('predicts the class of generated pictures', async () => {
    using model = await loadModel('default-resnet');
    const samples = [4, 5, 6, 7].map(sample);
    const predictions = await predict(
      model,
      samples.map((s) => s.image),
      { topK: 1 },
    );
    expect(predictions.map((p) => p[0].index)).toEqual(samples.map((s) => s.label));
  });

  it('runs more pictures than one pass can take in several batches, with the results of one', async () => {
    using model = await loadModel('default-resnet');
    // An engine whose bindings hold one picture's largest tensor and a half: one picture a pass.
    const narrow = await acquireEngine({ maxBindingBytes: Math.floor(1.5 * largestBindingPerImageFor(model, [3, 64, 64])) });
    try {
      using grouped = await loadModel('default-resnet', { engine: narrow });
      const samples = [4, 5, 6].map(sample);
      const images = samples.map((s) => s.image);
      expect((await predict(grouped, images, { topK: 1 })).map((p) => p[0].index)).toEqual(samples.map((s) => s.label));
      const [inGroups, inOne] = [await explain(grouped, images), await explain(model, images)];
      for (const [i, e] of inGroups.entries()) {
        const worst = worstDifference(e.map, inOne[i].map);
        expect(worst, `picture ${i}: one a pass and three differ by ${worst}`).toBeLessThan(1e-5);
      }
    } finally {
      narrow.destroy();
    }
  });

  it('refuses bad input with a message that says what to do, before any GPU work', async () => {
    using model = await loadModel('default-vgg');
    const { image } = sample(0);
    const before = model.engine.stats.dispatches;
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => expect.fail('expected a refusal'),
        (e: Error) => e.message,
      );
    expect(await refusal(explain(model, image, { method: 'gradcam' }))).toMatch(/unknown method "gradcam".*grad-cam/);
    expect(await refusal(explain(model, image, { method: 'saliency', layer: 'features.0' }))).toMatch(/does not use a layer/);
    expect(await refusal(explain(model, image, { method: 'cam' }))).toMatch(/does not apply to plain_cnn.*grad-cam/);
    expect(await refusal(explain(model, image, { target: 'zebra' }))).toMatch(/"zebra" is not a class of this model.*circle/);
    expect(await refusal(explain(model, image, { target: 10 }))).toMatch(/target 10 is out of range: this model has classes 0..9/);
    expect(await refusal(explain(model, image, { layer: 'features.99' }))).toMatch(/features\.99/);
    expect(await refusal(explain(model, image, { topK: 0 }))).toMatch(/topK must be a positive integer/);
    expect(await refusal(explain(model, [], {}))).toMatch(/no images given/);
    expect(await refusal(explain(model, { width: 2, height: 2, data: new Uint8Array(3) }))).toMatch(/needs 12 RGB bytes/);
    expect(await refusal(explain(model, 'cat.png' as unknown as RgbImage))).toMatch(/not an RgbImage.*readImage/);
    expect(model.engine.stats.dispatches, 'a refused call ran kernels').toBe(before);

    expect(await refusal(loadModel(join(dir, 'missing.safetensors')))).toMatch(/no such file.*default-resnet, default-vgg/);
    expect(await refusal(loadModel(42 as unknown as string))).toMatch(/cannot load a model from number/);
    expect(await refusal(readImage(join(dir, 'missing.png')))).toMatch(/no such file/);
    expect(await refusal(readImage({} as unknown as string))).toMatch(/cannot read a picture from Object/);
  });

  it('shares one engine between models and destroys it with the last one released', async () => {
    const first = await loadModel('default-vgg');
    const second = await loadModel('default-resnet');
    expect(second.engine).toBe(first.engine);
    first.release();
    first.release(); // idempotent: must not give the engine back twice
    const { image } = sample(0);
    expect((await predict(second, image)).length).toBe(5);
    second[Symbol.dispose]();
    expect(() => second.engine.empty([1])).toThrow(/engine used after destroy/);

    let inner: Model;
    {
      using third = await loadModel('default-vgg');
      inner = third;
      expect(third.engine).not.toBe(first.engine);
    }
    expect(() => inner.engine.empty([1])).toThrow(/engine used after destroy/);
  });

  it('leaves an engine it was given to its owner', async () => {
    const owner = await loadModel('default-vgg');
    const guest = await loadModel('default-resnet', { engine: owner.engine });
    guest.release();
    expect(owner.engine.empty([1]).release()).toBeUndefined();
    owner.release();
  });
});
