import { conv2dBackwardInput, conv2dForward, releaseConv2dWeightCache, type Conv2dOptions } from '../../kernels/conv2d.js';
import type { Tensor } from '../../gpu/tensor.js';
import { paramValue, perImage, plainRules, slidingWindow, type NodeBase, type OpRecord, type Param } from './op.js';

/** nn.Conv2d: any kernel, stride, padding, dilation and groups (depthwise included), optional bias. */
export interface ConvNode extends NodeBase {
  op: 'conv';
  /** (Cout, Cin / groups, kh, kw) */
  weight: Param;
  bias: Param | null;
  opts: Omit<Conv2dOptions, 'activation' | 'variant'>;
}

export const conv: OpRecord<ConvNode> = {
  doc: 'nn.Conv2d: y = w * x + b (cross-correlation, zero padding); a following batch-norm, residual add and ReLU run in its epilogue',
  forward(e, node, [x], fused) {
    const w = paramValue(node.weight);
    const bias = node.bias ? paramValue(node.bias) : null;
    const opts: Conv2dOptions = { ...node.opts, activation: 'none' };
    for (const { node: f, others } of fused) {
      if (f.op === 'affine') opts.affine = { scale: paramValue(f.scale), shift: paramValue(f.shift) };
      else if (f.op === 'add') opts.residual = others[0];
      else if (f.op === 'relu') opts.activation = 'relu';
    }
    return { y: conv2dForward(e, x, w, bias, opts) };
  },
  backward(node, g, ctx) {
    return [conv2dBackwardInput(ctx.engine, g, paramValue(node.weight), ctx.inputShape(0), node.opts)];
  },
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('w^T * R (transposed convolution)'),
  // conv -> [batch-norm] -> [residual add] -> [ReLU], in that order (the epilogue's order), each at most
  // once; batch-norm and add only where the engine says they pay (Engine.convEpilogueFusion).
  absorbs: (_node, chain, next, e) => {
    const order = e.convEpilogueFusion ? ['affine', 'add', 'relu'] : ['relu'];
    const last = chain.length ? order.indexOf(chain[chain.length - 1].op) : -1;
    const at = order.indexOf(next.op);
    return at > last;
  },
  flops(node, _in, out) {
    const [, cinPerGroup, kh, kw] = node.weight.shape;
    return 2 * perImage(out) * cinPerGroup * kh * kw;
  },
  // PyTorch's conv stride defaults to 1, not to the kernel size as in pooling.
  field: (node, [size]) =>
    slidingWindow(size, [node.weight.shape[2], node.weight.shape[3]], { ...node.opts, stride: node.opts.stride ?? 1 }),
  tensors: (node) => [node.weight.value, node.bias?.value].filter((t): t is Tensor => !!t),
  releaseCaches(e, node) {
    if (node.weight.value) releaseConv2dWeightCache(e, node.weight.value);
  },
};
