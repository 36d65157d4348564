import { describe, expect, it } from 'vitest';
import { shortcutOptionABackward, shortcutOptionAForward } from '../../src/kernels/shortcut.js';
import { testEngine } from '../util/gpu.js';
import { shortcutCases } from './shortcut.cases.js';

const engine = await testEngine();

describe('option-A shortcut kernels vs CPU reference', () => {
  for (const c of shortcutCases) it(c.name, () => c.run(engine));
});

describe('option-A shortcut refuses bad input', () => {
  const e = engine;
  it('outChannels below C or an odd difference', () => {
    const x = e.upload(new Float32Array(2 * 16 * 4 * 4), [2, 16, 4, 4]);
    expect(() => shortcutOptionAForward(e, x, 8)).toThrow(
      /shortcutOptionA.forward: outChannels 8 must be >= the input's 16 channels .*\[2, 16, 4, 4\]/,
    );
    expect(() => shortcutOptionAForward(e, x, 33)).toThrow(/outChannels 33 .* even number/);
    expect(() => shortcutOptionAForward(e, x, 32.5)).toThrow(/outChannels 32.5/);
    e.release(x);
  });
  it('wrong rank, dtype or backward shapes', () => {
    const x3 = e.upload(new Float32Array(16 * 4 * 4), [16, 4, 4]);
    expect(() => shortcutOptionAForward(e, x3, 32)).toThrow(/shortcutOptionA.forward: x must have rank 4, got \[16, 4, 4\]/);
    const xu = e.upload(new Uint32Array(16), [1, 1, 4, 4]);
    expect(() => shortcutOptionAForward(e, xu, 1)).toThrow(/x must be f32, got u32/);
    const dy = e.upload(new Float32Array(2 * 32 * 2 * 2), [2, 32, 2, 2]);
    expect(() => shortcutOptionABackward(e, dy, [2, 16, 5, 5])).toThrow(
      /shortcutOptionA.backward: dy must have shape \[2, 32, 3, 3\], got \[2, 32, 2, 2\]/,
    );
    expect(() => shortcutOptionABackward(e, dy, [2, 40, 4, 4])).toThrow(/outChannels 32 must be >= the input's 40 channels/);
    expect(() => shortcutOptionABackward(e, dy, [2, 16, 0, 4])).toThrow(/zero-size/);
    expect(() => shortcutOptionABackward(e, dy, [2, 16, 4])).toThrow(/input must have rank 4/);
    e.releaseAll(x3, xu, dy);
  });
});
