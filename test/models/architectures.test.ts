import { describe, expect, it } from 'vitest';
import { seededModel } from '../../src/graph/model.js';
import { testEngine } from '../util/gpu.js';

// Parameter counts of torchvision 0.14's models (sum of p.numel() over model.parameters()) (weights and biases; BN running stats are buffers).
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
  mobilenet_v2: 3_504_872,
  mobilenet_v3_large: 5_483_032,
  mobilenet_v3_small: 2_542_856,
  efficientnet_b0: 5_288_548,
  densenet121: 7_978_856,
  densenet161: 28_681_000,
  densenet169: 14_149_480,
  densenet201: 20_013_928,
};

/** A deep PyTorch module name each architecture must answer to. */
const SAMPLE_LAYER: [RegExp, string][] = [
  [/^resnet/, 'layer4.0.conv1'],
  [/^vgg/, 'features.0'],
  [/^mobilenet_v2/, 'features.17.conv.1.0'],
  [/^mobilenet_v3/, 'features.9.block.1.2'],
  [/^efficientnet/, 'features.6.3.block.2.scale_activation'],
  [/^densenet/, 'features.denseblock4.denselayer16.conv2'],
];

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
      expect(model.layerNames()).toContain(SAMPLE_LAYER.find(([re]) => re.test(arch))![1]);
      engine.release(x);
      model.release();
    });
  }
});
