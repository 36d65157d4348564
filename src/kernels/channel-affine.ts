import source from '../../shaders/channel_affine.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertShapeEquals } from './shape-checks.js';

const channelAffine = defineKernel('channel_affine', source);
const WG = 256;

function checkChannels(kernel: string, name: string, t: Tensor, scale: Tensor, shift?: Tensor): { c: number; s: number } {
  assertDType(kernel, name, t, 'f32');
  if (t.rank < 2) throw new KernelInputError(`${kernel}: ${name} must be (N, C, ...) with rank >= 2, got ${formatShape(t.shape)}`);
  const c = t.shape[1];
  assertDType(kernel, 'scale', scale, 'f32');
  assertShapeEquals(kernel, 'scale', scale, [c]);
  if (shift) {
    assertDType(kernel, 'shift', shift, 'f32');
    assertShapeEquals(kernel, 'shift', shift, [c]);
  }
  return { c, s: t.size / (t.shape[0] * c) };
}

// x: (N, C, ...) , scale, shift: (C) -> y: (N, C, ...) = x * scale[c] + shift[c], then ReLU if asked.
// With relu, y doubles as the ReLU's z for the standard and guided backward rules: [y > 0] == [z > 0].
export function channelAffineForward(e: Engine, x: Tensor, scale: Tensor, shift: Tensor, opts: { relu?: boolean } = {}): Tensor {
  const { c, s } = checkChannels('channelAffine.forward', 'x', x, scale, shift);
  const y = e.empty(x.shape, 'f32', 'channelAffine.y');
  const vec4 = s % 4 === 0;
  e.dispatch({
    kernel: channelAffine,
    entry: vec4 ? 'forward_vec4' : 'forward',
    bindings: vec4 ? { x4: x, y4: y, scale, shift } : { x, y, scale, shift },
    params: { n: x.size, s, c },
    workgroups: grid1d(vec4 ? x.size / 4 : x.size, WG),
    constants: { WG, RELU: opts.relu ? 1 : 0 },
  });
  return y;
}

// dy: (N, C, ...), scale: (C) -> dx = dy * scale[c]
export function channelAffineBackward(e: Engine, dy: Tensor, scale: Tensor): Tensor {
  const { c, s } = checkChannels('channelAffine.backward', 'dy', dy, scale);
  const dx = e.empty(dy.shape, 'f32', 'channelAffine.dx');
  const vec4 = s % 4 === 0;
  e.dispatch({
    kernel: channelAffine,
    entry: vec4 ? 'backward_vec4' : 'backward',
    bindings: vec4 ? { dy4: dy, dx4: dx, scale } : { dy, dx, scale },
    params: { n: dy.size, s, c },
    workgroups: grid1d(vec4 ? dy.size / 4 : dy.size, WG),
    constants: { WG },
  });
  return dx;
}

/**
 * Folds inference batch-norm into a per-channel affine map, host-side:
 * scale = gamma / sqrt(var + eps), shift = beta - mean * scale, in float64 then rounded to f32.
 */
export function batchNormToAffine(
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps = 1e-5,
): { scale: Float32Array; shift: Float32Array } {
  const c = gamma.length;
  for (const [name, a] of [
    ['beta', beta],
    ['mean', mean],
    ['variance', variance],
  ] as const) {
    if (a.length !== c) throw new KernelInputError(`batchNormToAffine: ${name} has ${a.length} channels, gamma has ${c}`);
  }
  if (!(eps >= 0)) throw new KernelInputError(`batchNormToAffine: eps ${eps} must be >= 0`);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    if (variance[i] + eps <= 0) {
      throw new KernelInputError(`batchNormToAffine: channel ${i} has variance ${variance[i]} + eps ${eps} <= 0`);
    }
    const s = gamma[i] / Math.sqrt(variance[i] + eps);
    scale[i] = s;
    shift[i] = beta[i] - mean[i] * s;
  }
  return { scale, shift };
}
