import { mul } from '../../kernels/elementwise.js';
import { reduce } from '../../kernels/reduce.js';
import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/**
 * The squeeze-and-excitation gate `scale * input` (torchvision's SqueezeExcitation.forward): inputs
 * [x (N, C, H, W), s (N, C, 1, 1)]; the node carries the SE module's name.
 */
export interface ChannelScaleNode extends NodeBase {
  op: 'channelScale';
}

export const channelScale: OpRecord<ChannelScaleNode> = {
  doc: 'squeeze-and-excitation gate: y[n, c, h, w] = x[n, c, h, w] * s[n, c]',
  forward: (e, _node, [x, s]) => ({ y: mul(e, x, s) }),
  backward(_node, g, ctx) {
    const e = ctx.engine;
    const gx = mul(e, g, ctx.input(1));
    const prod = mul(e, g, ctx.input(0));
    const gs = reduce(e, 'sum', prod, [2, 3], true);
    e.release(prod);
    return [gx, gs];
  },
  saves: { inputs: true },
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('x: R * s;  s: sum over (h, w) of R * x'),
  flops: (_node, _in, out) => perImage(out),
  // The gate is a global statistic (every unit depends on the whole image through it, multiplicatively);
  // the field reported is that of the feature map, the local path.
  field: () => ({ kind: 'same' }),
  tensors: () => [],
};
