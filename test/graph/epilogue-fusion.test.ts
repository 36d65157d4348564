/**
 * The executor runs a conv's batch-norm, residual add and ReLU in the conv's epilogue where the graph
 * allows (graph/ops/conv.ts `absorbs`) and the engine asks for it (`convEpilogueFusion`, off on software
 * adapters, where it measured slower; the ReLU is fused either way): on a CIFAR ResNet-20 no batch-norm or
 * ReLU pass is left, and the logits and the input gradient equal those of the unfused graph (keeping every
 * activation forbids fusion).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededModel } from '../../src/graph/model.js';
import { seededInput, seededValues } from '../../src/models/seeded-init.js';
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

describe('conv epilogue fusion', () => {
  it('leaves no batch-norm or ReLU pass in a ResNet-20 forward, and changes nothing but rounding', async () => {
    const x = engine.upload(seededInput([2, 3, 32, 32], 1), [2, 3, 32, 32], 'x');
    const kernelsOf = async (keep: string[]) => {
      const p = await engine.profile(async () => {
        const t = model.forward(x, { keep, forBackward: false });
        const logits = await t.logits.readF32();
        t.release();
        return logits;
      });
      const count = (prefix: string) => p.dispatches.filter((d) => d.kernel.startsWith(prefix)).length;
      return { logits: p.result, affine: count('channel_affine'), relu: count('relu') };
    };
    engine.convEpilogueFusion = false;
    const reluOnly = await kernelsOf([]);
    engine.convEpilogueFusion = true;
    const fused = await kernelsOf([]);
    const unfused = await kernelsOf(model.layerNames());
    expect(reluOnly.affine, 'without epilogue fusion each batch-norm is its own pass').toBeGreaterThan(0);
    expect(reluOnly.relu, 'ReLU passes left with the ReLU-only fusion').toBe(0);
    expect(unfused.affine, 'the unfused graph runs each batch-norm as its own pass').toBeGreaterThan(0);
    expect(fused.affine, 'batch-norm passes left in the fused forward').toBe(0);
    expect(fused.relu, 'ReLU passes left in the fused forward').toBe(0);
    const diff = worst(fused.logits, unfused.logits);
    expect(diff, `worst logit difference ${diff}`).toBeLessThan(1e-4 * Math.max(1, scale(unfused.logits)));
    engine.release(x);
  });

  it('gives the same input gradient as the unfused graph', async () => {
    engine.convEpilogueFusion = true;
    const x = engine.upload(seededInput([2, 3, 32, 32], 2), [2, 3, 32, 32], 'x');
    const gradient = async (keep: string[]) => {
      const t = model.forward(x, { keep });
      const seed = engine.upload(
        Float32Array.from({ length: 20 }, (_, i) => (i % 10 === 3 ? 1 : 0)),
        [2, 10],
        'seed',
      );
      const b = model.backward(t, { grad: seed });
      const g = await b.input!.readF32();
      b.release();
      t.release();
      engine.release(seed);
      return g;
    };
    const fused = await gradient([]);
    const unfused = await gradient(model.layerNames());
    const diff = worst(fused, unfused);
    expect(diff, `worst gradient difference ${diff}`).toBeLessThan(1e-4 * Math.max(1e-6, scale(unfused)));
    engine.release(x);
  });
});
