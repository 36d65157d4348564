import type { Tensor } from '../../gpu/tensor.js';
import { channelAffineBackward, channelAffineForward } from '../../kernels/channel-affine.js';
import { paramValue, perImage, plainRules, type NodeBase, type OpRecord, type Param } from './op.js';

/** nn.BatchNorm2d in inference form, folded at load into y = x * scale[c] + shift[c]. */
export interface AffineNode extends NodeBase {
  op: 'affine';
  /** (C) each */
  scale: Param;
  shift: Param;
}

export const affine: OpRecord<AffineNode> = {
  doc: 'nn.BatchNorm2d (inference): y = x * scale[c] + shift[c], scale = gamma / sqrt(var + eps), shift = beta - mean * scale',
  forward: (e, node, [x], fused) => ({
    y: channelAffineForward(e, x, paramValue(node.scale), paramValue(node.shift), { relu: fused.length > 0 }),
  }),
  backward: (node, g, ctx) => [channelAffineBackward(ctx.engine, g, paramValue(node.scale))],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R * scale[c]'),
  absorbs: (_node, chain, next) => chain.length === 0 && next.op === 'relu',
  flops: (_node, _in, out) => 2 * perImage(out),
  field: () => ({ kind: 'same' }),
  tensors: (node) => [node.scale.value, node.shift.value].filter((t): t is Tensor => !!t),
};
