import { describe, expect, it } from 'vitest';
import { bilinearResize, bilinearResizeBackward } from '../../src/kernels/resize.js';
import { testEngine } from '../util/gpu.js';
import { resizeCases } from './resize.cases.js';

const engine = await testEngine();

describe('bilinear resize kernels vs CPU reference', () => {
  for (const c of resizeCases) it(c.name, () => c.run(engine));
});

describe('bilinear resize refuses bad input', () => {
  const e = engine;
  it('bad output size, rank or dtype', () => {
    const x = e.upload(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    expect(() => bilinearResize(e, x, [0, 8])).toThrow(
      /bilinearResize: output size \[0, 8\] must be two positive integers \(input \[2, 3, 4, 4\]\)/,
    );
    expect(() => bilinearResize(e, x, [8, 2.5])).toThrow(/output size \[8, 2.5\]/);
    expect(() => bilinearResize(e, x, [8] as unknown as [number, number])).toThrow(/output size \[8\]/);
    const x2 = e.upload(new Float32Array(16), [4, 4]);
    expect(() => bilinearResize(e, x2, [8, 8])).toThrow(/bilinearResize: x must have rank 4, got \[4, 4\]/);
    const xi = e.upload(new Int32Array(16), [1, 1, 4, 4]);
    expect(() => bilinearResize(e, xi, [8, 8])).toThrow(/bilinearResize: x must be f32, got i32/);
    e.releaseAll(x, x2, xi);
  });
  it('backward shapes that disagree', () => {
    const dy = e.upload(new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    expect(() => bilinearResizeBackward(e, dy, [2, 4, 4, 4])).toThrow(
      /bilinearResize.backward: dy \[2, 3, 8, 8\] and input \[2, 4, 4, 4\] must agree on N and C/,
    );
    expect(() => bilinearResizeBackward(e, dy, [2, 3, 0, 4])).toThrow(/bilinearResize.backward: input \[2, 3, 0, 4\] has a zero-size/);
    expect(() => bilinearResizeBackward(e, dy, [2, 3, 4])).toThrow(/input must have rank 4/);
    e.release(dy);
  });
});
