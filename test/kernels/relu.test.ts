import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { reluCases } from './relu.cases.js';

const engine = await testEngine();

describe('relu kernels vs CPU reference', () => {
  for (const c of reluCases) it(c.name, () => c.run(engine));
});
