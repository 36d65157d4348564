import { addRelu, binary } from '../../kernels/elementwise.js';
import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/** The residual join `out + identity` (ResNet blocks, inverted residuals, MBConv). */
export interface AddNode extends NodeBase {
  op: 'add';
}

export const add: OpRecord<AddNode> = {
  doc: 'residual add: y = a + b (same shapes); a following ReLU runs in the same pass',
  forward: (e, _node, [a, b], fused) => ({ y: fused.length ? addRelu(e, a, b) : binary(e, 'add', a, b) }),
  backward: (_node, g, ctx) => [ctx.engine.clone(g, 'grad.add'), ctx.engine.clone(g, 'grad.add')],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R to both inputs'),
  absorbs: (_node, chain, next) => chain.length === 0 && next.op === 'relu',
  flops: (_node, _in, out) => perImage(out),
  field: () => ({ kind: 'widest' }),
  tensors: () => [],
};
