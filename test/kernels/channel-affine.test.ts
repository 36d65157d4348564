import { describe, expect, it } from 'vitest';
import { batchNormToAffine, channelAffineBackward, channelAffineForward } from '../../src/kernels/channel-affine.js';
import { testEngine } from '../util/gpu.js';
import { channelAffineCases } from './channel-affine.cases.js';

const engine = await testEngine();

describe('channel-affine kernels vs CPU reference', () => {
  for (const c of channelAffineCases) it(c.name, () => c.run(engine));
});

describe('channel-affine refuses bad input', () => {
  const e = engine;
  it('scale/shift that do not match the channels', () => {
    const x = e.upload(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const s3 = e.upload(new Float32Array(3), [3]);
    const s4 = e.upload(new Float32Array(4), [4]);
    const s31 = e.upload(new Float32Array(3), [3, 1]);
    expect(() => channelAffineForward(e, x, s4, s3)).toThrow(/channelAffine.forward: scale must have shape \[3\], got \[4\]/);
    expect(() => channelAffineForward(e, x, s3, s4)).toThrow(/channelAffine.forward: shift must have shape \[3\], got \[4\]/);
    expect(() => channelAffineForward(e, x, s31, s3)).toThrow(/scale must have shape \[3\], got \[3, 1\]/);
    expect(() => channelAffineBackward(e, x, s4)).toThrow(/channelAffine.backward: scale must have shape \[3\]/);
    e.releaseAll(x, s3, s4, s31);
  });
  it('wrong rank or dtype', () => {
    const x1 = e.upload(new Float32Array(6), [6]);
    const s = e.upload(new Float32Array(6), [6]);
    expect(() => channelAffineForward(e, x1, s, s)).toThrow(/channelAffine.forward: x must be \(N, C, \.\.\.\) with rank >= 2, got \[6\]/);
    const xi = e.upload(new Uint32Array(12), [2, 6]);
    expect(() => channelAffineForward(e, xi, s, s)).toThrow(/channelAffine.forward: x must be f32, got u32/);
    e.releaseAll(x1, s, xi);
  });
  it('batchNormToAffine checks its arrays', () => {
    const a = new Float32Array([1, 2]);
    expect(() => batchNormToAffine(a, new Float32Array(3), a, a)).toThrow(/batchNormToAffine: beta has 3 channels, gamma has 2/);
    expect(() => batchNormToAffine(a, a, a, new Float32Array([-1, 1]), 0)).toThrow(/channel 0 has variance -1/);
    const { scale, shift } = batchNormToAffine(
      new Float32Array([2]),
      new Float32Array([1]),
      new Float32Array([3]),
      new Float32Array([4]),
      0,
    );
    expect([...scale, ...shift]).toEqual([1, -2]);
  });
});
