import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
  pool2dOutputShape,
} from '../../src/kernels/pool.js';
import { testEngine } from '../util/gpu.js';
import { poolCases } from './pool.cases.js';

const engine = await testEngine();

describe('pool kernels vs CPU reference', () => {
  for (const c of poolCases) it(c.name, () => c.run(engine));
});

describe('pool kernels refuse bad input', () => {
  const e = engine;
  it('wrong rank or dtype', () => {
    const x3 = e.upload(new Float32Array(3 * 8 * 8), [3, 8, 8]);
    expect(() => maxPool2dForward(e, x3, { kernel: 2 })).toThrow(/maxPool2d.forward: x must have rank 4, got \[3, 8, 8\]/);
    expect(() => avgPool2dForward(e, x3, { kernel: 2 })).toThrow(/avgPool2d.forward: x must have rank 4/);
    expect(() => globalAvgPoolForward(e, x3)).toThrow(/globalAvgPool.forward: x must have rank 4/);
    expect(() => adaptiveAvgPool2dForward(e, x3, [2, 2])).toThrow(/adaptiveAvgPool2d.forward: x must have rank 4/);
    const xi = e.upload(new Int32Array(64), [1, 1, 8, 8]);
    expect(() => maxPool2dForward(e, xi, { kernel: 2 })).toThrow(/maxPool2d.forward: x must be f32, got i32/);
    e.releaseAll(x3, xi);
  });
  it('window larger than the padded input', () => {
    expect(() => pool2dOutputShape([1, 1, 2, 2], { kernel: 3 }, 'max')).toThrow(
      /maxPool2d: window 3x3 .* larger than the padded input \[1, 1, 2, 2\]/,
    );
    expect(() => pool2dOutputShape([1, 1, 4, 4], { kernel: 3, dilation: 2 }, 'max')).toThrow(/larger than the padded input/);
    expect(() => pool2dOutputShape([1, 1, 1, 5], { kernel: 3, padding: 0 }, 'avg')).toThrow(/avgPool2d: window 3x3 .*output would be 0x1/);
  });
  it('padding over half the kernel, as PyTorch refuses', () => {
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 3, padding: 2 }, 'max')).toThrow(
      /padding \[2, 2\] must be at most half the kernel \[3, 3\]/,
    );
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: [2, 4], padding: [1, 3] }, 'avg')).toThrow(
      /padding \[1, 3\] must be at most half the kernel \[2, 4\]/,
    );
    // Dilation widens the limit to half the effective kernel, as in PyTorch 2.
    expect(pool2dOutputShape([1, 1, 9, 9], { kernel: 3, padding: 2, dilation: 2 }, 'max')).toEqual([1, 1, 3, 3]);
    expect(() => pool2dOutputShape([1, 1, 9, 9], { kernel: 3, padding: 3, dilation: 2 }, 'max')).toThrow(
      /padding \[3, 3\] must be at most half the effective kernel \[5, 5\]/,
    );
  });
  it('bad option values', () => {
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 0 }, 'max')).toThrow(/kernel 0 must be an integer >= 1/);
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 2, stride: 0 }, 'max')).toThrow(/stride 0 must be an integer >= 1/);
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 2, padding: -1 }, 'max')).toThrow(/padding -1/);
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 2.5 }, 'max')).toThrow(/kernel 2.5/);
    expect(() => pool2dOutputShape([1, 1, 8, 8], { kernel: 2, dilation: 2 }, 'avg')).toThrow(
      /avgPool2d: dilation \[2, 2\] is not supported/,
    );
  });
  it('zero-size shapes and output sizes', () => {
    expect(() => pool2dOutputShape([1, 0, 8, 8], { kernel: 2 }, 'max')).toThrow(/maxPool2d: input \[1, 0, 8, 8\] has a zero-size/);
    const dy = e.upload(new Float32Array(4), [1, 1, 2, 2]);
    expect(() => avgPool2dBackward(e, dy, [1, 1, 0, 4], { kernel: 2 })).toThrow(/zero-size/);
    expect(() => globalAvgPoolBackward(e, dy, [0, 1, 4, 4])).toThrow(/zero-size/);
    const x = e.upload(new Float32Array(16), [1, 1, 4, 4]);
    expect(() => adaptiveAvgPool2dForward(e, x, [0, 2])).toThrow(
      /adaptiveAvgPool2d.forward: output size \[0, 2\] must be two positive integers/,
    );
    e.releaseAll(dy, x);
  });
  it('backward shapes that do not match the forward', () => {
    const x = e.upload(new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    const { y, switches } = maxPool2dForward(e, x, { kernel: 2 });
    expect(() => maxPool2dBackward(e, y, switches, [2, 3, 8, 8], { kernel: 3 })).toThrow(
      /maxPool2d.backward: dy must have shape \[2, 3, 2, 2\], got \[2, 3, 4, 4\]/,
    );
    expect(() => maxPool2dBackward(e, y, y, [2, 3, 8, 8], { kernel: 2 })).toThrow(/switches must be u32, got f32/);
    expect(() => avgPool2dBackward(e, y, [2, 3, 9, 9], { kernel: 3 })).toThrow(/avgPool2d.backward: dy must have shape \[2, 3, 3, 3\]/);
    expect(() => adaptiveAvgPool2dBackward(e, y, [2, 4, 8, 8])).toThrow(
      /adaptiveAvgPool2d.backward: dy must have shape \[2, 4, 4, 4\], got \[2, 3, 4, 4\]/,
    );
    expect(() => globalAvgPoolBackward(e, y, [2, 3, 8, 8])).toThrow(/globalAvgPool.backward: dy must have shape \[2, 3, 1, 1\]/);
    e.releaseAll(x, y, switches);
  });
});
