import { maxPool2dBackward, maxPool2dForward, type Pool2dOptions } from '../../kernels/pool.js';
import { pairOf, perImage, plainRules, windowOut, type NodeBase, type OpRecord, type Pair } from './op.js';

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
  field(node, [size]) {
    const o = node.opts;
    const kk = pairOf(o.kernel, [1, 1]);
    const s = pairOf(o.stride, kk);
    const p = pairOf(o.padding, [0, 0]);
    const d = pairOf(o.dilation, [1, 1]);
    const k: Pair = [d[0] * (kk[0] - 1) + 1, d[1] * (kk[1] - 1) + 1];
    const ceil = o.ceilMode ?? false;
    return {
      kind: 'window',
      window: { k, s, p, out: [windowOut(size[0], k[0], s[0], p[0], ceil), windowOut(size[1], k[1], s[1], p[1], ceil)] },
    };
  },
  tensors: () => [],
};

export function kernelArea(node: { opts: Pool2dOptions }): number {
  const [kh, kw] = pairOf(node.opts.kernel, [1, 1]);
  return kh * kw;
}
