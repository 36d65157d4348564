import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { concatCases } from './concat.cases.js';

const engine = await testEngine();

describe('concat kernels vs CPU reference', () => {
  for (const c of concatCases) it(c.name, () => c.run(engine));
});
