import { activationBackward, activationForward, ACTIVATION_SAVES, RULE_ACTIVATIONS, type Activation } from '../../kernels/activation.js';
import type { ReluRule } from '../../kernels/relu.js';
import type { GraphNode } from '../graph.js';
import { perImage, type OpRecord } from './op.js';

/**
 * The record every activation of activation.wgsl shares; each op file states its formula. The
 * ReLU-family ones (ReLU6) take the rule; the smooth ones the plain gradient under every rule.
 */
export function activationRecord<N extends Extract<GraphNode, { op: Activation }>>(
  act: N['op'],
  doc: string,
  rules: Record<ReluRule, string>,
): OpRecord<N> {
  const reluFamily = RULE_ACTIVATIONS.includes(act);
  const savesOutput = ACTIVATION_SAVES[act] === 'output';
  return {
    doc,
    forward: (e, _node, [x]) => ({ y: activationForward(e, act, x) }),
    backward: (_node, g, ctx) => [
      activationBackward(ctx.engine, act, savesOutput ? ctx.output() : ctx.input(0), g, reluFamily ? ctx.rule : 'standard'),
    ],
    saves: savesOutput ? { output: true } : { inputs: true },
    ruleBehaviour: reluFamily ? 'relu-family' : 'plain-gradient',
    rules,
    flops: (_node, _in, out) => perImage(out),
    field: () => ({ kind: 'same' }),
    tensors: () => [],
  };
}
