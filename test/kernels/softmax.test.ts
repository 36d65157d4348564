import { describe, it } from 'vitest';
import { testEngine } from '../util/gpu.js';
import { softmaxCases } from './softmax.cases.js';

const engine = await testEngine();

describe('softmax kernels vs CPU reference', () => {
  for (const c of softmaxCases) it(c.name, () => c.run(engine));
});
