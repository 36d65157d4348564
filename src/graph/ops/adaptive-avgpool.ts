import { adaptiveAvgPool2dBackward, adaptiveAvgPool2dForward } from '../../kernels/pool.js';
import { perImage, plainRules, type NodeBase, type OpRecord, type Pair } from './op.js';

/** nn.AdaptiveAvgPool2d; (1, 1) is the global average pool of ResNet-style heads and squeeze-and-excitation. */
export interface AdaptiveAvgPoolNode extends NodeBase {
  op: 'adaptiveavgpool';
  size: [number, number];
}

export const adaptiveavgpool: OpRecord<AdaptiveAvgPoolNode> = {
  doc: 'nn.AdaptiveAvgPool2d: output cell (i, j) averages input rows [floor(i H / h), ceil((i + 1) H / h)), likewise columns',
  forward: (e, node, [x]) => ({ y: adaptiveAvgPool2dForward(e, x, node.size) }),
  backward: (_node, g, ctx) => [adaptiveAvgPool2dBackward(ctx.engine, g, ctx.inputShape(0))],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R / (cell size) spread over each cell'),
  flops: (_node, [inp]) => perImage(inp),
  field(node, [size]) {
    // Exact when the output size divides the input; otherwise the widest window and the mean stride,
    // an upper bound on the field.
    const k = [0, 1].map((a) => Math.ceil(size[a] / node.size[a]) + (size[a] % node.size[a] ? 1 : 0)) as Pair;
    const s = [0, 1].map((a) => size[a] / node.size[a]) as Pair;
    return {
      kind: 'window',
      window: { k, s, p: [0, 0], out: [node.size[0], node.size[1]] },
      global: node.size[0] === 1 && node.size[1] === 1,
    };
  },
  tensors: () => [],
};
