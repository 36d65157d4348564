import source from '../../shaders/relu.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';

const relu = defineKernel('relu', source);
const WG = 256;

/** The three ways a ReLU-family unit passes a gradient back (docs/design.md, section 1). */
export const RELU_RULES = ['standard', 'guided', 'deconvnet'] as const;
/** One of {@link RELU_RULES}: how a ReLU-family unit passes a gradient back. */
export type ReluRule = (typeof RELU_RULES)[number];

/**
 * Each rule as the two masks it multiplies the upstream gradient R by: the unit's own pass mask
 * ([z > 0] for ReLU, [0 < z < 6] for ReLU6) and the sign mask [R > 0]. Override constants of
 * relu.wgsl and activation.wgsl.
 */
export const RULE_MASKS: Record<ReluRule, { MASK_Z: number; MASK_R: number }> = {
  standard: { MASK_Z: 1, MASK_R: 0 },
  guided: { MASK_Z: 1, MASK_R: 1 },
  deconvnet: { MASK_Z: 0, MASK_R: 1 },
};

export function assertRule(kernel: string, rule: string): asserts rule is ReluRule {
  if (!(RELU_RULES as readonly string[]).includes(rule)) {
    throw new KernelInputError(`${kernel}: unknown rule "${rule}"; one of ${RELU_RULES.join(', ')}`);
  }
}

// x: any shape -> y: same shape
/** ReLU on the GPU: y = max(x, 0), any shape. The caller releases y. */
export function reluForward(e: Engine, x: Tensor): Tensor {
  assertDType('relu.forward', 'x', x, 'f32');
  const y = e.empty(x.shape, 'f32', 'relu.y');
  const v4 = x.size % 4 === 0;
  const n = v4 ? x.size / 4 : x.size;
  e.dispatch({
    kernel: relu,
    entry: v4 ? 'forward4' : 'forward',
    bindings: v4 ? { x4: x, y4: y } : { x, y },
    params: { n },
    workgroups: grid1d(n, WG),
    constants: { WG },
  });
  return y;
}

// z: ReLU forward input (or its output), dy: upstream gradient (same shape), plus: same shape -> dx
/**
 * ReLU's gradient under one rule: `standard` dy * [z > 0], `guided` also zeroes negative dy, `deconvnet` passes ReLU(dy) and ignores
 * z. z is the forward input. With `plus` (a second gradient of the same shape, e.g. a residual block's shortcut),
 * the rule applies to dy + plus, in the same pass. The caller releases dx.
 */
export function reluBackward(e: Engine, z: Tensor, dy: Tensor, rule: ReluRule = 'standard', plus?: Tensor): Tensor {
  assertSameShape('relu.backward', ['z', z], ['dy', dy]);
  if (plus) assertSameShape('relu.backward', ['dy', dy], ['plus', plus]);
  assertRule('relu.backward', rule);
  const dx = e.empty(z.shape, 'f32', 'relu.dx');
  const v4 = z.size % 4 === 0;
  const n = v4 ? z.size / 4 : z.size;
  const added = plus ?? dy;
  e.dispatch({
    kernel: relu,
    entry: v4 ? 'backward4' : 'backward',
    bindings: v4 ? { x4: z, dy4: dy, dx4: dx, plus4: added } : { x: z, dy, dx, plus: added },
    params: { n },
    workgroups: grid1d(n, WG),
    constants: { WG, ...RULE_MASKS[rule], PLUS: plus ? 1 : 0 },
  });
  return dx;
}
