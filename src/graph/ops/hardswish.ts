import { activationRecord } from './activation.js';
import { plainRules, type NodeBase } from './op.js';

/** nn.Hardswish (MobileNetV3). */
export interface HardswishNode extends NodeBase {
  op: 'hardswish';
}

export const hardswish = activationRecord<HardswishNode>(
  'hardswish',
  'nn.Hardswish: y = z min(max(z + 3, 0), 6) / 6',
  plainRules('R * (0 for z < -3; z / 3 + 1/2 for -3 <= z <= 3; 1 above)'),
);
