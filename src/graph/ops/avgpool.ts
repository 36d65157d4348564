import { avgPool2dBackward, avgPool2dForward, type Pool2dOptions } from '../../kernels/pool.js';
import { kernelArea } from './maxpool.js';
import { pairOf, perImage, plainRules, windowOut, type NodeBase, type OpRecord } from './op.js';

/** nn.AvgPool2d (DenseNet transitions). */
export interface AvgPoolNode extends NodeBase {
  op: 'avgpool';
  opts: Pool2dOptions;
}

export const avgpool: OpRecord<AvgPoolNode> = {
  doc: 'nn.AvgPool2d: y = mean over each window (count_include_pad as PyTorch)',
  forward: (e, node, [x]) => ({ y: avgPool2dForward(e, x, node.opts) }),
  backward: (node, g, ctx) => [avgPool2dBackward(ctx.engine, g, ctx.inputShape(0), node.opts)],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R / (window size) spread over each window'),
  flops: (node, _in, out) => perImage(out) * kernelArea(node),
  field(node, [size]) {
    const o = node.opts;
    const k = pairOf(o.kernel, [1, 1]);
    const s = pairOf(o.stride, k);
    const p = pairOf(o.padding, [0, 0]);
    const ceil = o.ceilMode ?? false;
    return {
      kind: 'window',
      window: { k, s, p, out: [windowOut(size[0], k[0], s[0], p[0], ceil), windowOut(size[1], k[1], s[1], p[1], ceil)] },
    };
  },
  tensors: () => [],
};
