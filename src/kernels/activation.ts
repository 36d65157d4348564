import source from '../../shaders/activation.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import { defineKernel, wgslEnum } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertRule, RULE_MASKS, type ReluRule } from './relu.js';
import { assertDType, assertSameShape } from './shape-checks.js';

const activation = defineKernel('activation', source);
const WG = 256;

/** The activations of activation.wgsl (ReLU has its own kernel, relu.wgsl). */
export const ACTIVATIONS = ['relu6', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
const actId = wgslEnum(activation, 'ACT_', ACTIVATIONS);

/** Which forward value each backward reads: the output where the derivative is a function of it. */
export const ACTIVATION_SAVES: Record<Activation, 'input' | 'output'> = {
  relu6: 'output',
  hardswish: 'input',
  hardsigmoid: 'input',
  silu: 'input',
  sigmoid: 'output',
};

/** ReLU-family activations, where the guided and DeconvNet rules apply. */
export const RULE_ACTIVATIONS: readonly Activation[] = ['relu6'];

function assertActivation(kernel: string, act: string): asserts act is Activation {
  if (!(ACTIVATIONS as readonly string[]).includes(act)) {
    throw new KernelInputError(`${kernel}: unknown activation "${act}"; one of ${ACTIVATIONS.join(', ')}`);
  }
}

// z: any shape -> y = act(z), same shape
export function activationForward(e: Engine, act: Activation, z: Tensor): Tensor {
  const kernel = `activation.${act}.forward`;
  assertActivation(kernel, act);
  assertDType(kernel, 'z', z, 'f32');
  const y = e.empty(z.shape, 'f32', `${act}.y`);
  e.dispatch({
    kernel: activation,
    entry: 'forward',
    bindings: { x: z, y },
    params: { n: z.size },
    workgroups: grid1d(z.size, WG),
    constants: { WG, ACT: actId(act) },
  });
  return y;
}

// saved: z or y (ACTIVATION_SAVES), dy: upstream gradient (same shape) -> dz
export function activationBackward(e: Engine, act: Activation, saved: Tensor, dy: Tensor, rule: ReluRule = 'standard'): Tensor {
  const kernel = `activation.${act}.backward`;
  assertActivation(kernel, act);
  assertRule(kernel, rule);
  assertSameShape(kernel, ['saved', saved], ['dy', dy]);
  if (rule !== 'standard' && !RULE_ACTIVATIONS.includes(act)) {
    throw new KernelInputError(
      `${kernel}: the ${rule} rule applies to ReLU-family units only (${['relu', ...RULE_ACTIVATIONS].join(', ')}); ${act} takes the standard gradient`,
    );
  }
  const dz = e.empty(dy.shape, 'f32', `${act}.dz`);
  e.dispatch({
    kernel: activation,
    entry: 'backward',
    bindings: { saved, dy, dx: dz },
    params: { n: dy.size },
    workgroups: grid1d(dy.size, WG),
    constants: { WG, ACT: actId(act), ...RULE_MASKS[rule] },
  });
  return dz;
}
