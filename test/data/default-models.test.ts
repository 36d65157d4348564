import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ImageDataset } from '../../src/data/image-dataset.js';
import { tensorSet } from '../../src/data/labelled-source.js';
import { generateSplit, SYNTHETIC_CLASSES, SYNTHETIC_GENERATOR, SYNTHETIC_SIZE } from '../../src/data/synthetic/index.js';
import { assertMeansFitModel } from '../../src/e2cm/class-means.js';
import { observeExits, predictExits, simulateEarlyExit } from '../../src/e2cm/early-exit.js';
import { classMeansFromFile } from '../../src/e2cm/means-file.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';

// The shipped default models (tools/train_default_models.py) on the first 500 generated test images,
// run by the engine: the same images PyTorch scored at >= 97 % (weights/README.md). Their class means
// are calibrated on the val split; the ResNet's exits must take a visible share of test images early.
const COUNT = 500;
const MODELS = [
  { weights: 'default-resnet.safetensors', means: 'default-resnet.means.safetensors', earlyShare: 0.3 },
  { weights: 'default-vgg.safetensors', means: 'default-vgg.means.safetensors', earlyShare: 0 },
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
  for (const { weights: name, means: meansName, earlyShare } of MODELS) {
    it(`${name} (and its calibrated class means)`, async () => {
      const path = weightsPath(name);
      // Part of the repository: a missing file is a broken checkout, not a reason to skip.
      for (const p of [path, weightsPath(meansName)]) expect(existsSync(p), `${p} is missing; see weights/README.md`).toBe(true);
      const file = await readSafetensorsFile(path);
      expect(file.metadata.generator, 'trained on data from another generator version: retrain').toBe(SYNTHETIC_GENERATOR);
      const model = modelFromFile(engine, file);
      expect(model.info.classes).toEqual(SYNTHETIC_CLASSES);
      expect(model.info.inputSize).toEqual([SYNTHETIC_SIZE, SYNTHETIC_SIZE]);
      const means = classMeansFromFile(await readSafetensorsFile(weightsPath(meansName)));
      expect(means.exits).toEqual(model.exitLayers);
      assertMeansFitModel(means, model); // same classes, by name, and layers the model has
      expect(means.calibration, `${meansName} must be calibrated (class-means --calibrate-range)`).not.toBeNull();
      // One pass gives the final classifier's answers and every exit's.
      const obs = await observeExits(model, means, tensorSet(dataset).batches(model.info), 50);
      model.release();
      const correct = obs.finalPrediction.filter((p, i) => p === obs.labels[i]).length;
      expect(correct / COUNT, `${name}: ${correct}/${COUNT} correct`).toBeGreaterThanOrEqual(0.97);
      const pred = predictExits(
        obs,
        means.exits.map((l) => means.temperatures.get(l)!),
      );
      const r = simulateEarlyExit(
        pred,
        means.exits.map((l) => means.calibration!.thresholds.get(l)!),
      );
      const early = r.exitCounts.slice(0, -2).reduce((a, b) => a + b, 0) / COUNT;
      const summary = `exits ${r.exitCounts.join(' / ')}: ${(early * 100).toFixed(1)} % before the last block, accuracy ${r.accuracy} vs ${correct / COUNT}`;
      expect(early, summary).toBeGreaterThanOrEqual(earlyShare);
      // The budget (1 point) holds on the calibration split; on these unseen images allow one more.
      expect(r.accuracy, summary).toBeGreaterThanOrEqual(correct / COUNT - 0.02);
      // And no worse than the trainer measured on 2000 images, within three standard errors.
      const recorded = Number(file.metadata.accuracy);
      const slack = 3 * Math.sqrt((recorded * (1 - recorded)) / COUNT);
      expect(correct / COUNT, `${correct}/${COUNT} correct; the trainer recorded ${recorded}`).toBeGreaterThanOrEqual(recorded - slack);
    });
  }
});
