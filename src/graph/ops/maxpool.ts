import { maxPool2dBackward, maxPool2dForward, type Pool2dOptions } from '../../kernels/pool.js';
import { pairOf, perImage, plainRules, slidingWindow, type NodeBase, type OpRecord } from './op.js';

/** nn.MaxPool2d, recording the argmax switches backward routes the gradient through. */
export interface MaxPoolNode extends NodeBase {
  op: 'maxpool';
  opts: Pool2dOptions;
}

export const maxpool: OpRecord<MaxPoolNode> = {
  doc: 'nn.MaxPool2d: y = max over each window; the argmax (PyTorch tie rule) is saved as a switch',
  forward(e, node, [x]) {
    const { y, switches } = maxPool2dForward(e, x, node.opts);
    return { y, saved: switches };
  },
  backward: (node, g, ctx) => [maxPool2dBackward(ctx.engine, g, ctx.saved(), ctx.inputShape(0), node.opts)],
  saves: { state: true },
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R routed to the argmax of each window (the switch)'),
  flops: (node, _in, out) => perImage(out) * kernelArea(node),
  field: (node, [size]) => slidingWindow(size, pairOf(node.opts.kernel, [1, 1]), { ...node.opts, ceil: node.opts.ceilMode }),
  tensors: () => [],
};

export function kernelArea(node: { opts: Pool2dOptions }): number {
  const [kh, kw] = pairOf(node.opts.kernel, [1, 1]);
  return kh * kw;
}
