import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateRange, SPLIT_SEEDS } from '../../src/data/synthetic/index.js';
import { normalizedBatch } from '../../src/data/image-dataset.js';
import { classMeansFromFile } from '../../src/e2cm/means-file.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';

// The embedded default models are part of the repository (the demo runs on them), so a missing file
// is a broken checkout and fails. Accuracy is checked on generated test images the trainer never saw.
const weights = (name: string) => fileURLToPath(new URL(`../../weights/${name}`, import.meta.url));
const engine = await testEngine();

describe('embedded default VGG-style model', () => {
  it('classifies 300 generated test images at its recorded accuracy, and its class means fit it', async () => {
    for (const f of ['default-vgg.safetensors', 'default-vgg.means.safetensors']) expect(existsSync(weights(f)), `weights/${f} is missing`).toBe(true);
    const file = await readSafetensorsFile(weights('default-vgg.safetensors'));
    const model = modelFromFile(engine, file);
    expect(model.info.inputSize).toEqual([64, 64]);
    const n = 300;
    const data = generateRange(SPLIT_SEEDS.test, 0, n);
    const ds = { images: data.images, labels: data.labels, count: n, height: 64, width: 64, classes: [], source: 'synthetic test' };
    let correct = 0;
    for (let start = 0; start < n; start += 100) {
      const x = engine.upload(normalizedBatch(ds, start, 100, model.info), [100, 3, 64, 64]);
      const logits = await model.logits(x);
      engine.release(x);
      for (let i = 0; i < 100; i++) {
        const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
        if (row.indexOf(Math.max(...row)) === data.labels[start + i]) correct++;
      }
    }
    const recorded = Number(file.metadata.accuracy);
    // 300 images: allow three standard errors below the accuracy the trainer measured on 2000.
    const slack = 3 * Math.sqrt((recorded * (1 - recorded)) / n);
    expect(correct / n, `${correct}/${n} correct; trainer recorded ${recorded}`).toBeGreaterThanOrEqual(recorded - slack);
    const means = classMeansFromFile(await readSafetensorsFile(weights('default-vgg.means.safetensors')));
    expect(means.exits).toEqual(model.exitLayers);
    model.release();
  });
});
