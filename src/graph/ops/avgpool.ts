import { avgPool2dBackward, avgPool2dForward, type Pool2dOptions } from '../../kernels/pool.js';
import { kernelArea } from './maxpool.js';
import { pairOf, perImage, plainRules, slidingWindow, type NodeBase, type OpRecord } from './op.js';

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
  field: (node, [size]) => slidingWindow(size, pairOf(node.opts.kernel, [1, 1]), { ...node.opts, dilation: 1, ceil: node.opts.ceilMode }),
  tensors: () => [],
};
