import { conv2dBackwardInput, conv2dForward, releaseConv2dWeightCache, type Conv2dOptions } from '../../kernels/conv2d.js';
import type { Tensor } from '../../gpu/tensor.js';
import { pairOf, paramValue, perImage, plainRules, windowOut, type NodeBase, type OpRecord, type Pair, type Param } from './op.js';

/** nn.Conv2d: any kernel, stride, padding, dilation and groups (depthwise included), optional bias. */
export interface ConvNode extends NodeBase {
  op: 'conv';
  /** (Cout, Cin / groups, kh, kw) */
  weight: Param;
  bias: Param | null;
  opts: Omit<Conv2dOptions, 'activation' | 'variant'>;
}

export const conv: OpRecord<ConvNode> = {
  doc: 'nn.Conv2d: y = w * x + b (cross-correlation, zero padding); a following ReLU runs in its epilogue',
  forward(e, node, [x], fused) {
    const w = paramValue(node.weight);
    const bias = node.bias ? paramValue(node.bias) : null;
    return { y: conv2dForward(e, x, w, bias, { ...node.opts, activation: fused.length ? 'relu' : 'none' }) };
  },
  backward(node, g, ctx) {
    return [conv2dBackwardInput(ctx.engine, g, paramValue(node.weight), ctx.inputShape(0), node.opts)];
  },
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('w^T * R (transposed convolution)'),
  absorbs: (_node, chain, next) => chain.length === 0 && next.op === 'relu',
  flops(node, _in, out) {
    const [, cinPerGroup, kh, kw] = node.weight.shape;
    return 2 * perImage(out) * cinPerGroup * kh * kw;
  },
  field(node, [size]) {
    const [kh, kw] = [node.weight.shape[2], node.weight.shape[3]];
    const s = pairOf(node.opts.stride, [1, 1]);
    const p = pairOf(node.opts.padding, [0, 0]);
    const d = pairOf(node.opts.dilation, [1, 1]);
    const k: Pair = [d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1];
    return { kind: 'window', window: { k, s, p, out: [windowOut(size[0], k[0], s[0], p[0]), windowOut(size[1], k[1], s[1], p[1])] } };
  },
  tensors: (node) => [node.weight.value, node.bias?.value].filter((t): t is Tensor => !!t),
  releaseCaches(e, node) {
    if (node.weight.value) releaseConv2dWeightCache(e, node.weight.value);
  },
};
