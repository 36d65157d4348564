/**
 * The executor folds a conv's batch-norm into the conv's weights (graph/ops/conv.ts, kernels/conv2d-fold.ts)
 * in the forward pass and in backward to the input, and runs the residual add and ReLU in the conv's
 * epilogue where the graph allows (`absorbs`) and the engine asks for it (`convEpilogueFusion`: on
 * software adapters only on the rows kernels, where it measured faster; the ReLU is fused either way).
 * On a CIFAR ResNet-20 no batch-norm or ReLU pass is left once the folded weights are cached, and the
 * logits and the input gradient equal those of the unfused graph (keeping every activation forbids
 * fusion in the forward pass; asking for the gradient at every layer forbids folding in the backward one).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededModel } from '../../src/graph/model.js';
import { seededInput, seededValues } from '../../src/models/seeded-init.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();
const policy = engine.convEpilogueFusion;
afterAll(() => {
  engine.convEpilogueFusion = policy;
});
const model = seededModel(engine, 'cifar_resnet20', (name, shape) => seededValues(name, shape, 0), 10);
afterAll(() => model.release());

const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const scale = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Runs `f` twice (the first fills the weight caches, whose folding passes are not the model's) and profiles the second. */
async function steadyProfile<T>(f: () => Promise<T>) {
  await f();
  const p = await engine.profile(f);
  const count = (prefix: string) => p.dispatches.filter((d) => d.kernel.startsWith(prefix)).length;
  return { result: p.result, affine: count('channel_affine'), relu: count('relu'), add: count('elementwise') };
}

describe('conv epilogue fusion and batch-norm folding', () => {
  it('leaves no batch-norm or ReLU pass in a ResNet-20 forward, and changes nothing but rounding', async () => {
    // Batch 32: the 16- and 32-channel stages run rows kernels, the 64-channel one Winograd (below 128
    // of its tiles, batch 31 on 8x8 maps, a rows kernel too).
    const x = engine.upload(seededInput([32, 3, 32, 32], 1), [32, 3, 32, 32], 'x');
    const logits = (keep: string[]) =>
      steadyProfile(async () => {
        const t = model.forward(x, { keep, forBackward: false });
        const l = await t.logits.readF32();
        t.release();
        return l;
      });
    engine.convEpilogueFusion = false;
    const reluOnly = await logits([]);
    engine.convEpilogueFusion = 'rows';
    const onRows = await logits([]);
    engine.convEpilogueFusion = true;
    const fused = await logits([]);
    const unfused = await logits(model.layerNames());
    expect(unfused.affine, 'the unfused graph runs each batch-norm as its own pass').toBeGreaterThan(0);
    for (const [name, run] of [
      ['without epilogue fusion', reluOnly],
      ['with the residual fused on the rows kernels', onRows],
      ['with epilogue fusion', fused],
    ] as const) {
      expect(run.affine, `batch-norm passes left ${name}`).toBe(0);
      expect(run.relu, `ReLU passes left ${name}`).toBe(0);
      const diff = worst(run.result, unfused.result);
      expect(diff, `worst logit difference ${name}: ${diff}`).toBeLessThan(1e-4 * Math.max(1, scale(unfused.result)));
    }
    expect(reluOnly.add, 'without epilogue fusion the residual adds are passes').toBe(9);
    expect(onRows.add, "residual adds left with fusion on the rows kernels ('rows')").toBe(3);
    expect(fused.add, 'residual adds left with epilogue fusion').toBe(0);
    engine.release(x);
  });

  it('folds every batch-norm into its conv in backward to the input, with the unfolded gradient', async () => {
    engine.convEpilogueFusion = policy;
    const x = engine.upload(seededInput([2, 3, 32, 32], 2), [2, 3, 32, 32], 'x');
    const seed = engine.upload(
      Float32Array.from({ length: 20 }, (_, i) => (i % 10 === 3 ? 1 : 0)),
      [2, 10],
      'seed',
    );
    const gradient = (gradsAt: string[]) =>
      steadyProfile(async () => {
        const t = model.forward(x);
        let g: Float32Array;
        let b: { input: Tensor | null; release(): void } | undefined;
        try {
          b = model.backward(t, { grad: seed }, { gradsAt });
          g = await b.input!.readF32();
        } finally {
          b?.release();
          t.release();
        }
        return g;
      });
    const folded = await gradient([]);
    const unfolded = await gradient(model.layerNames());
    expect(unfolded.affine, 'a gradient asked for at every layer runs each batch-norm backward').toBeGreaterThan(0);
    expect(folded.affine, 'batch-norm backward passes left').toBe(0);
    const diff = worst(folded.result, unfolded.result);
    expect(diff, `worst gradient difference ${diff}`).toBeLessThan(1e-4 * Math.max(1e-6, scale(unfolded.result)));
    engine.releaseAll(x, seed);
  });
});
