import { reluBackward, reluForward } from '../../kernels/relu.js';
import { perImage, type NodeBase, type OpRecord } from './op.js';

/** nn.ReLU (and F.relu): y = max(z, 0). */
export interface ReluNode extends NodeBase {
  op: 'relu';
}

export const relu: OpRecord<ReluNode> = {
  doc: 'nn.ReLU: y = max(z, 0); usually computed in the epilogue of the conv, batch-norm, add or linear before it',
  forward: (e, _node, [x]) => ({ y: reluForward(e, x) }),
  // [y > 0] == [z > 0], so the output stands in for the input (and survives fusion, where z never exists).
  backward: (_node, g, ctx) => [reluBackward(ctx.engine, ctx.output(), g, ctx.rule)],
  saves: { output: true },
  ruleBehaviour: 'relu-family',
  rules: { standard: 'R * [z > 0]', guided: 'R * [z > 0] * [R > 0]', deconvnet: 'R * [R > 0]' },
  flops: (_node, _in, out) => perImage(out),
  field: () => ({ kind: 'same' }),
  tensors: () => [],
};
