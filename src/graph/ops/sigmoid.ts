import { activationRecord } from './activation.js';
import { plainRules, type NodeBase } from './op.js';

/** nn.Sigmoid: EfficientNet's squeeze-and-excitation gate. */
export interface SigmoidNode extends NodeBase {
  op: 'sigmoid';
}

export const sigmoid = activationRecord<SigmoidNode>('sigmoid', 'nn.Sigmoid: y = 1 / (1 + exp(-z))', plainRules('R * y (1 - y)'));
