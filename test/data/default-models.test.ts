import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizedBatch, type ImageDataset } from '../../src/data/image-dataset.js';
import { generateSplit, SYNTHETIC_CLASSES, SYNTHETIC_GENERATOR, SYNTHETIC_SIZE } from '../../src/data/synthetic/index.js';
import { assertMeansFitModel } from '../../src/e2cm/class-means.js';
import { classMeansFromFile } from '../../src/e2cm/means-file.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';

// The shipped default models (tools/train_default_models.py) on the first 500 generated test images,
// run by the engine: the same images PyTorch scored at >= 97 % (weights/README.md).
const COUNT = 500;
const MODELS = [
  { weights: 'default-resnet.safetensors', means: 'default-resnet.means.safetensors' },
  { weights: 'default-vgg.safetensors', means: 'default-vgg.means.safetensors' },
];
const weightsPath = (name: string) => fileURLToPath(new URL(`../../weights/${name}`, import.meta.url));

const engine = await testEngine();
const test = generateSplit('test', COUNT);
const dataset: ImageDataset = {
  images: test.images,
  labels: test.labels,
  count: COUNT,
  height: SYNTHETIC_SIZE,
  width: SYNTHETIC_SIZE,
  classes: SYNTHETIC_CLASSES,
  source: 'synthetic test split',
};

describe('default models classify generated test images', () => {
  for (const { weights: name, means: meansName } of MODELS) {
    it(`${name} (and its class means)`, async () => {
      const path = weightsPath(name);
      // Part of the repository: a missing file is a broken checkout, not a reason to skip.
      for (const p of [path, weightsPath(meansName)]) expect(existsSync(p), `${p} is missing; see weights/README.md`).toBe(true);
      const file = await readSafetensorsFile(path);
      expect(file.metadata.generator, 'trained on data from another generator version: retrain').toBe(SYNTHETIC_GENERATOR);
      const model = modelFromFile(engine, file);
      expect(model.info.classes).toEqual(SYNTHETIC_CLASSES);
      expect(model.info.inputSize).toEqual([SYNTHETIC_SIZE, SYNTHETIC_SIZE]);
      const batch = 50;
      let correct = 0;
      for (let start = 0; start < COUNT; start += batch) {
        const x = engine.upload(normalizedBatch(dataset, start, batch, model.info), [batch, 3, SYNTHETIC_SIZE, SYNTHETIC_SIZE], 'images');
        const logits = await model.logits(x);
        x.release();
        for (let n = 0; n < batch; n++) {
          const row = logits.subarray(n * 10, n * 10 + 10);
          if (row.indexOf(Math.max(...row)) === dataset.labels[start + n]) correct++;
        }
      }
      const means = classMeansFromFile(await readSafetensorsFile(weightsPath(meansName)));
      expect(means.exits).toEqual(model.exitLayers);
      assertMeansFitModel(means, model); // same classes, by name, and layers the model has
      model.release();
      expect(correct / COUNT, `${name}: ${correct}/${COUNT} correct`).toBeGreaterThanOrEqual(0.97);
      // And no worse than the trainer measured on 2000 images, within three standard errors.
      const recorded = Number(file.metadata.accuracy);
      const slack = 3 * Math.sqrt((recorded * (1 - recorded)) / COUNT);
      expect(correct / COUNT, `${correct}/${COUNT} correct; the trainer recorded ${recorded}`).toBeGreaterThanOrEqual(recorded - slack);
    });
  }
});
