import { concatChannels, concatChannelsBackward } from '../../kernels/concat.js';
import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/** torch.cat(xs, 1): DenseNet's feature concatenation. */
export interface ConcatNode extends NodeBase {
  op: 'concat';
}

export const concat: OpRecord<ConcatNode> = {
  doc: 'torch.cat(xs, 1): inputs (N, C_k, H, W) stacked along the channels in input order',
  forward: (e, _node, inputs) => ({ y: concatChannels(e, inputs) }),
  backward: (node, g, ctx) =>
    concatChannelsBackward(
      ctx.engine,
      g,
      node.inputs.map((_, k) => ctx.inputShape(k)),
    ),
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules("each input's channel slice of R"),
  flops: (_node, _in, out) => perImage(out),
  field: () => ({ kind: 'widest' }),
  tensors: () => [],
};
