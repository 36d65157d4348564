import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modelFromFile, seededModel, type Model } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import type { SafetensorsFile } from '../../src/io/safetensors.js';
import type { ReluRule } from '../../src/kernels/relu.js';
import { seededInput, seededValues } from '../../src/models/seeded-init.js';
import { compareClose, correlation } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

// Reference files from tools/make_references.py (PyTorch, torchvision model code, same weights and input).
// torchvision models use the seeded weights both sides generate; CIFAR models the real shared weights.
const MODELS: { ref: string; weights: { seeded: string } | { file: string } }[] = [
  { ref: 'resnet20', weights: { file: 'resnet20.safetensors' } },
  { ref: 'resnet56', weights: { file: 'resnet56.safetensors' } },
  { ref: 'plain_cnn', weights: { file: 'convnetjs_plain_cnn.safetensors' } },
  { ref: 'resnet18', weights: { seeded: 'resnet18' } },
  { ref: 'resnet50', weights: { seeded: 'resnet50' } },
  { ref: 'vgg16', weights: { seeded: 'vgg16' } },
  { ref: 'vgg16_bn', weights: { seeded: 'vgg16_bn' } },
  // Two 72x72 seeded images; the input is regenerated, not stored.
  { ref: 'mobilenet_v2', weights: { seeded: 'mobilenet_v2' } },
  { ref: 'mobilenet_v3_large', weights: { seeded: 'mobilenet_v3_large' } },
  { ref: 'efficientnet_b0', weights: { seeded: 'efficientnet_b0' } },
  { ref: 'densenet121', weights: { seeded: 'densenet121' } },
];

const RULES: ReluRule[] = ['standard', 'guided', 'deconvnet'];
const GRAD_MIN_CORRELATION = 0.9999;

const engine = await testEngine();

function refPath(name: string): string {
  return fileURLToPath(new URL(`../references/${name}.safetensors`, import.meta.url));
}

async function loadModel(spec: (typeof MODELS)[number]): Promise<Model> {
  if ('seeded' in spec.weights) return seededModel(engine, spec.weights.seeded, (name, shape) => seededValues(name, shape, 0));
  return modelFromFile(engine, await readSafetensorsFile(cifarFile(spec.weights.file)));
}

/** Correlation gate plus the worst absolute difference in the message, whatever the outcome. */
function expectCorrelated(actual: Float32Array, expected: Float32Array, what: string, min = GRAD_MIN_CORRELATION): void {
  const r = correlation(actual, expected);
  const worst = compareClose(actual, expected, { atol: 0, rtol: 0, what }).worstAbs;
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(
    r,
    `${what}: correlation ${r.toFixed(7)} (min ${min}); worst |diff| ${worst.toExponential(3)} (max |ref| ${scale.toExponential(3)})`,
  ).toBeGreaterThanOrEqual(min);
}

describe('PyTorch parity: logits, input gradients under three ReLU rules, layer activations and gradients', () => {
  for (const spec of MODELS) {
    it(spec.ref, async () => {
      const ref: SafetensorsFile = await readSafetensorsFile(refPath(spec.ref));
      const model = await loadModel(spec);
      const layers = JSON.parse(ref.metadata.layers) as string[];
      const shape: number[] = ref.has('input') ? ref.info('input').shape : JSON.parse(ref.metadata.input_shape);
      const input = ref.has('input') ? ref.getF32('input') : seededInput(shape, 0);
      const targets = Array.from(ref.get('target').data as BigInt64Array, Number);
      const x = engine.upload(input, shape, 'input');
      const trace = model.forward(x, { keep: layers });

      const logitsRef = ref.getF32('logits');
      const maxLogit = logitsRef.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const logits = compareClose(await trace.logits.readF32(), logitsRef, {
        rtol: 1e-4,
        atol: 1e-5 * maxLogit,
        shape: ref.info('logits').shape,
        what: `${spec.ref} logits`,
      });
      expect(logits.ok, logits.message).toBe(true);

      // Every module PyTorch ran resolves to a layer of the same output shape (PyTorch's named_modules names).
      const moduleShapes = Object.entries(JSON.parse(ref.metadata.module_shapes ?? '{}') as Record<string, number[]>);
      const misnamed = moduleShapes.filter(([name, s]) => !model.hasLayer(name) || trace.shapeOf(name).join() !== s.join());
      expect(
        misnamed
          .slice(0, 5)
          .map(([name, s]) => `${name}: PyTorch [${s}], engine ${model.hasLayer(name) ? `[${trace.shapeOf(name)}]` : 'no such layer'}`),
        `${spec.ref}: modules whose name or shape differs (of ${moduleShapes.length})`,
      ).toEqual([]);

      for (const layer of layers) {
        const bf16 = ref.info(`act:${layer}`).dtype === 'BF16';
        const act = await trace.activation(layer).readF32();
        expectCorrelated(act, ref.getF32(`act:${layer}`), `${spec.ref} activation ${layer}${bf16 ? ' (bf16 reference)' : ''}`);
      }

      const seedData = new Float32Array(logitsRef.length);
      const classes = logitsRef.length / targets.length;
      targets.forEach((t, n) => (seedData[n * classes + t] = 1));
      const seed = engine.upload(seedData, ref.info('logits').shape, 'seed');
      for (const rule of RULES) {
        const back = model.backward(trace, { grad: seed }, { rule, gradsAt: rule === 'standard' ? layers : [] });
        const bf16 = ref.info(`grad_input_${rule}`).dtype === 'BF16' ? ' (bf16 reference)' : '';
        expectCorrelated(await back.input!.readF32(), ref.getF32(`grad_input_${rule}`), `${spec.ref} input gradient, ${rule} rule${bf16}`);
        for (const [layer, g] of back.grads)
          expectCorrelated(await g.readF32(), ref.getF32(`grad:${layer}`), `${spec.ref} gradient at ${layer}`);
        back.release();
      }
      engine.releaseAll(seed, x);
      trace.release();
      model.release();
      expect(engine.pool.stats.liveBytes, 'every tensor of the pass was released').toBe(0);
    });
  }
});
