import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { reduceCases } from './reduce.cases.js';

const engine = await testEngine();

describe('reduction kernels vs CPU reference', () => {
  for (const c of reduceCases) it(c.name, () => c.run(engine));
});
