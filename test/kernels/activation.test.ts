import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { activationCases } from './activation.cases.js';

const engine = await testEngine();

describe('activation kernels vs CPU reference', () => {
  for (const c of activationCases) it(c.name, () => c.run(engine));
});
