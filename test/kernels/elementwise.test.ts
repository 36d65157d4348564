import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { elementwiseCases } from './elementwise.cases.js';

const engine = await testEngine();

describe('elementwise kernels vs CPU reference', () => {
  for (const c of elementwiseCases) it(c.name, () => c.run(engine));
});
