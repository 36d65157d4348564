import {
  conv2dBackwardInput,
  conv2dForward,
  conv2dForwardKernel,
  conv2dScratchPerImage,
  releaseConv2dWeightCache,
  type Conv2dOptions,
} from '../../kernels/conv2d.js';
import type { Engine } from '../../gpu/engine.js';
import { KernelInputError } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import { foldedConv2d, type FoldedConv2d } from '../../kernels/conv2d-fold.js';
import type { GraphNode } from '../graph.js';
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
  doc: 'nn.Conv2d: y = w * x + b (cross-correlation, zero padding); a following batch-norm is folded into its weights, a residual add and ReLU run in its epilogue',
  forward(e, node, [x], fused) {
    let w = paramValue(node.weight);
    let bias = node.bias ? paramValue(node.bias) : null;
    const opts: Conv2dOptions = { ...node.opts, activation: 'none' };
    for (const { node: f, others } of fused) {
      if (f.op === 'affine') ({ weight: w, bias } = folded(e, node, f));
      else if (f.op === 'add') opts.residual = others[0];
      else if (f.op === 'relu') opts.activation = 'relu';
    }
    return { y: conv2dForward(e, x, w, bias, opts) };
  },
  backward(node, g, ctx, { after, before }) {
    const w = after.length ? folded(ctx.engine, node, after[0]).weight : paramValue(node.weight);
    const inputRelu = before ? { y: before.output, rule: ctx.rule, plus: before.plus ?? undefined } : undefined;
    return [conv2dBackwardInput(ctx.engine, g, w, ctx.inputShape(0), node.opts, inputRelu)];
  },
  // The batch-norm's backward (R * scale) is the folded weight's transposed conv.
  foldsBackward: (_node, next) => next.op === 'affine',
  // The ReLU's backward under any rule is a mask the transposed conv's store applies.
  absorbsInputBackward: (_node, producer) => producer.op === 'relu',
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('w^T * R (transposed convolution)'),
  // conv -> [batch-norm] -> [residual add] -> [ReLU], in that order (the epilogue's order), each at most
  // once; the batch-norm is folded into the weights, so it costs nothing; the add only where the engine
  // says it pays (Engine.convEpilogueFusion).
  absorbs: (node, chain, next, e, [xShape]) => {
    const last = chain.length ? EPILOGUE_ORDER.indexOf(chain[chain.length - 1].op) : -1;
    const at = EPILOGUE_ORDER.indexOf(next.op);
    if (at <= last) return false;
    return next.op !== 'add' || residualInEpilogue(e, node, xShape);
  },
  flops(node, _in, out) {
    const [, cinPerGroup, kh, kw] = node.weight.shape;
    return 2 * perImage(out) * cinPerGroup * kh * kw;
  },
  scratchPerImage: (e, node, [x]) => conv2dScratchPerImage(e, x, node.weight.shape, node.opts),
  // PyTorch's conv stride defaults to 1, not to the kernel size as in pooling.
  field: (node, [size]) =>
    slidingWindow(size, [node.weight.shape[2], node.weight.shape[3]], { ...node.opts, stride: node.opts.stride ?? 1 }),
  tensors: (node) => [node.weight.value, node.bias?.value].filter((t): t is Tensor => !!t),
  releaseCaches(e, node) {
    if (node.weight.value) releaseConv2dWeightCache(e, node.weight.value);
  },
};

const EPILOGUE_ORDER = ['affine', 'add', 'relu'];

function residualInEpilogue(e: Engine, node: ConvNode, xShape: readonly number[]): boolean {
  const policy = e.convEpilogueFusion;
  return policy === 'rows' ? conv2dForwardKernel(e, xShape, node.weight.shape, node.opts).endsWith('_rows') : policy;
}

/** The conv's weight and bias with the batch-norm `bn` after it folded in (cached per tensor). */
function folded(e: Engine, node: ConvNode, bn: GraphNode): FoldedConv2d {
  if (bn.op !== 'affine') throw new KernelInputError(`internal: ${node.name} can fold only a batch-norm, not ${bn.op} ${bn.name}`);
  const bias = node.bias ? paramValue(node.bias) : null;
  return foldedConv2d(e, paramValue(node.weight), bias, { scale: paramValue(bn.scale), shift: paramValue(bn.shift) });
}
