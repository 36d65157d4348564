// Plain CPU references for the activations of shaders/activation.wgsl, written from PyTorch's
// definitions (torch.nn.functional.relu6 / hardswish / hardsigmoid / silu / sigmoid and their
// autograd formulas, boundary values included), in float64.
import type { Activation } from '../../src/kernels/activation.js';
import type { ReluRule } from '../../src/kernels/relu.js';

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);

export function activationRef(act: Activation, z: number): number {
  switch (act) {
    case 'relu6':
      return relu6(z);
    case 'hardswish':
      return (z * relu6(z + 3)) / 6;
    case 'hardsigmoid':
      return relu6(z + 3) / 6;
    case 'silu':
      return z * sig(z);
    case 'sigmoid':
      return sig(z);
  }
}

/** dL/dz for upstream gradient r at forward input z, under `rule` (ReLU6 only takes a rule). */
export function activationGradRef(act: Activation, z: number, r: number, rule: ReluRule = 'standard'): number {
  switch (act) {
    case 'relu6': {
      const passZ = rule === 'deconvnet' || (z > 0 && z < 6);
      const passR = rule === 'standard' || r > 0;
      return passZ && passR ? r : 0;
    }
    case 'hardswish':
      return z < -3 ? 0 : z <= 3 ? r * (z / 3 + 0.5) : r;
    case 'hardsigmoid':
      return z > -3 && z < 3 ? r / 6 : 0;
    case 'silu':
      return r * sig(z) * (1 + z * (1 - sig(z)));
    case 'sigmoid':
      return r * sig(z) * (1 - sig(z));
  }
}
