import { formatShape, KernelInputError } from '../../gpu/errors.js';
import { linearBackwardInput, linearForward, type LinearWeight } from '../../kernels/matmul.js';
import { paramValue, plainRules, type NodeBase, type OpRecord, type Param } from './op.js';

/** nn.Linear on (N, features). */
export interface LinearNode extends NodeBase {
  op: 'linear';
  /** (out, in), split in row blocks under the binding limit */
  weight: Param<LinearWeight>;
  bias: Param | null;
}

export const linear: OpRecord<LinearNode> = {
  doc: 'nn.Linear: y = x W^T + b; a following ReLU runs in its epilogue',
  forward(e, node, [x], fused) {
    if (x.rank !== 2) throw new KernelInputError(`${node.name}: linear layer expects (N, features), got ${formatShape(x.shape)}`);
    const bias = node.bias ? paramValue(node.bias) : null;
    return { y: linearForward(e, x, paramValue(node.weight), bias, { relu: fused.length > 0 }) };
  },
  backward: (node, g, ctx) => [linearBackwardInput(ctx.engine, g, paramValue(node.weight))],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R W'),
  absorbs: (_node, chain, next) => chain.length === 0 && next.op === 'relu',
  flops: (node) => 2 * node.weight.shape[0] * node.weight.shape[1],
  field: () => ({ kind: 'vector' }),
  tensors: (node) => [...(node.weight.value?.chunks ?? []), ...(node.bias?.value ? [node.bias.value] : [])],
};
