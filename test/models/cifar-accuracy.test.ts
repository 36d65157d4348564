import { describe, expect, it } from 'vitest';
import { datasetFromFile, normalizedBatch } from '../../src/data/image-dataset.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

// Real trained weights on 1000 real CIFAR-10 test images; accuracies measured with PyTorch on the
// same files (../shared/data/cifar10/README.md). "Within one image" = +-1 correct prediction.
const CASES = [
  { file: 'resnet20.safetensors', correct: 912 },
  { file: 'resnet56.safetensors', correct: 932 },
  { file: 'convnetjs_plain_cnn.safetensors', correct: 756 },
];

const engine = await testEngine();
const dataset = datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors')));

describe('real trained CIFAR-10 models reproduce their measured accuracy', () => {
  for (const c of CASES) {
    it(c.file, { timeout: 600_000 }, async () => {
      const model = modelFromFile(engine, await readSafetensorsFile(cifarFile(c.file)));
      const batch = 100;
      let correct = 0;
      for (let start = 0; start < dataset.count; start += batch) {
        const x = engine.upload(normalizedBatch(dataset, start, batch, model.info), [batch, 3, 32, 32], 'images');
        const logits = await model.logits(x);
        x.release();
        for (let n = 0; n < batch; n++) {
          const row = logits.subarray(n * 10, n * 10 + 10);
          const pred = row.indexOf(Math.max(...row));
          if (pred === dataset.labels[start + n]) correct++;
        }
      }
      model.release();
      expect(Math.abs(correct - c.correct), `${c.file}: ${correct}/1000 correct, PyTorch measured ${c.correct}`).toBeLessThanOrEqual(1);
    });
  }
});
