import { describe, expect, it } from 'vitest';
import { seededModel } from '../../src/graph/model.js';
import { testEngine } from '../util/gpu.js';

// Parameter counts of torchvision 0.14's models (weights and biases; BN running stats are buffers).
// Every architecture is built with zero weights (fast) and run at a small input to check the graph.
const TORCHVISION_PARAMS: Record<string, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  vgg11: 132_863_336,
  vgg11_bn: 132_868_840,
  vgg13: 133_047_848,
  vgg13_bn: 133_053_736,
  vgg16: 138_357_544,
  vgg16_bn: 138_365_992,
  vgg19: 143_667_240,
  vgg19_bn: 143_678_248,
};

const engine = await testEngine();

describe('every torchvision architecture builds with the right parameters and runs', () => {
  for (const [arch, params] of Object.entries(TORCHVISION_PARAMS)) {
    it(arch, async () => {
      let count = 0;
      const model = seededModel(engine, arch, (name, shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        if (!name.endsWith('running_mean') && !name.endsWith('running_var')) count += n;
        // Zero weights, unit variances: cheap to make, and the forward pass stays finite.
        return new Float32Array(n).fill(name.endsWith('running_var') ? 1 : 0);
      });
      expect(count, `${arch} parameter count`).toBe(params);
      const x = engine.zeros([1, 3, 32, 32]);
      const logits = await model.logits(x);
      expect(logits.length).toBe(1000);
      expect(model.layerNames()).toContain(arch.startsWith('resnet') ? 'layer4.0.conv1' : 'features.0');
      engine.release(x);
      model.release();
    });
  }
});
