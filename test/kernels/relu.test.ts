import { describe, expect, it } from 'vitest';
import { reluBackward } from '../../src/kernels/relu.js';
import { testEngine } from '../util/gpu.js';
import { reluCases } from './relu.cases.js';

const engine = await testEngine();

describe('relu kernels vs CPU reference', () => {
  for (const c of reluCases) it(c.name, () => c.run(engine));

  it('refuses an added gradient of another shape, naming both', () => {
    const [z, dy, plus] = [engine.zeros([2, 3]), engine.zeros([2, 3]), engine.zeros([3, 2])];
    expect(() => reluBackward(engine, z, dy, 'standard', plus)).toThrow(
      /relu\.backward: dy \[2, ?3\] and plus \[3, ?2\] must have the same shape/,
    );
    engine.releaseAll(z, dy, plus);
  });
});
