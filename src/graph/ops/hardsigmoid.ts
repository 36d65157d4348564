import { activationRecord } from './activation.js';
import { plainRules, type NodeBase } from './op.js';

/** nn.Hardsigmoid: MobileNetV3's squeeze-and-excitation gate. */
export interface HardsigmoidNode extends NodeBase {
  op: 'hardsigmoid';
}

export const hardsigmoid = activationRecord<HardsigmoidNode>(
  'hardsigmoid',
  'nn.Hardsigmoid: y = min(max(z + 3, 0), 6) / 6',
  plainRules('R * [-3 < z < 3] / 6'),
);
