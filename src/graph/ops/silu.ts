import { activationRecord } from './activation.js';
import { plainRules, type NodeBase } from './op.js';

/** nn.SiLU (swish; EfficientNet). */
export interface SiluNode extends NodeBase {
  op: 'silu';
}

export const silu = activationRecord<SiluNode>(
  'silu',
  'nn.SiLU: y = z sig(z), sig(v) = 1 / (1 + exp(-v))',
  plainRules('R * sig(z) (1 + z (1 - sig(z)))'),
);
