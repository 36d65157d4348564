import source from '../../shaders/relu.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';

const relu = defineKernel('relu', source);
const WG = 256;

/** The three ways a ReLU can pass a gradient back (SPEC section 1). */
export type ReluRule = 'standard' | 'guided' | 'deconvnet';
const RULE_ID: Record<ReluRule, number> = { standard: 0, guided: 1, deconvnet: 2 };

// x: any shape -> y: same shape
/** ReLU on the GPU: y = max(x, 0), any shape. The caller releases y. */
export function reluForward(e: Engine, x: Tensor): Tensor {
  assertDType('relu.forward', 'x', x, 'f32');
  const y = e.empty(x.shape, 'f32', 'relu.y');
  e.dispatch({ kernel: relu, entry: 'forward', bindings: { x, y }, params: { n: x.size }, workgroups: grid1d(x.size, WG) });
  return y;
}

// z: ReLU forward input, dy: upstream gradient (same shape) -> dx
/**
 * ReLU's gradient under one rule: `standard` dy * [z > 0], `guided` also zeroes negative dy, `deconvnet` passes ReLU(dy) and ignores
 * z. z is the forward input. The caller releases dx.
 */
export function reluBackward(e: Engine, z: Tensor, dy: Tensor, rule: ReluRule = 'standard'): Tensor {
  assertSameShape('relu.backward', ['z', z], ['dy', dy]);
  const dx = e.empty(z.shape, 'f32', 'relu.dx');
  e.dispatch({
    kernel: relu,
    entry: 'backward',
    bindings: { x: z, dy, dx },
    params: { n: z.size },
    workgroups: grid1d(z.size, WG),
    constants: { RULE: RULE_ID[rule] },
  });
  return dx;
}
