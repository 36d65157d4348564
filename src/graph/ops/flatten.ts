import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/** torch.flatten(x, 1) before a classifier. */
export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

export const flatten: OpRecord<FlattenNode> = {
  doc: 'torch.flatten(x, 1): (N, C, H, W) -> (N, C H W)',
  // A copy, not a view: views share storage and the input may be released before the output.
  forward: (e, node, [x]) => ({ y: e.clone(x, node.name).reshape([x.shape[0], x.size / x.shape[0]]) }),
  backward: (_node, g, ctx) => [ctx.engine.clone(g, 'grad.flatten').reshape(ctx.inputShape(0))],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R reshaped'),
  flops: (_node, _in, out) => perImage(out),
  field: () => ({ kind: 'vector' }),
  tensors: () => [],
};
