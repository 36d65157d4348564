import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { matmulCases } from './matmul.cases.js';

const engine = await testEngine();

describe('matmul and linear kernels vs CPU reference', () => {
  for (const c of matmulCases) it(c.name, () => c.run(engine));
});
