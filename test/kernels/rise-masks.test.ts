import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { riseMaskCases } from './rise-masks.cases.js';

const engine = await testEngine();

describe('RISE mask kernels vs CPU reference', () => {
  for (const c of riseMaskCases) it(c.name, () => c.run(engine));
});
