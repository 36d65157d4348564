import { activationRecord } from './activation.js';
import type { NodeBase } from './op.js';

/** nn.ReLU6 (MobileNetV2): a ReLU with a ceiling, so a ReLU-family unit for the guided and DeconvNet rules. */
export interface Relu6Node extends NodeBase {
  op: 'relu6';
}

export const relu6 = activationRecord<Relu6Node>('relu6', 'nn.ReLU6: y = min(max(z, 0), 6)', {
  standard: 'R * [0 < z < 6]',
  guided: 'R * [0 < z < 6] * [R > 0]',
  deconvnet: 'R * [R > 0]',
});
