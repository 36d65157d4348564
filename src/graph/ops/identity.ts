import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/**
 * Identity at inference: nn.Dropout, torchvision's StochasticDepth (the surviving rows are rescaled only
 * in training) and empty shortcuts. Kept as nodes so every PyTorch module name resolves.
 */
export interface IdentityNode extends NodeBase {
  op: 'identity';
}

export const identity: OpRecord<IdentityNode> = {
  doc: 'nn.Dropout / StochasticDepth / nn.Identity at inference: y = x',
  forward: (e, node, [x]) => ({ y: e.clone(x, node.name) }),
  backward: (_node, g, ctx) => [ctx.engine.clone(g, 'grad.identity')],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R'),
  flops: (_node, _in, out) => perImage(out),
  field: () => ({ kind: 'same' }),
  tensors: () => [],
};
