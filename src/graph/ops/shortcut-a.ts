import { shortcutOptionABackward, shortcutOptionAForward } from '../../kernels/shortcut.js';
import { perImage, plainRules, type NodeBase, type OpRecord } from './op.js';

/** The CIFAR ResNets' parameter-free "option A" shortcut. */
export interface ShortcutANode extends NodeBase {
  op: 'shortcutA';
  outChannels: number;
}

export const shortcutA: OpRecord<ShortcutANode> = {
  doc: 'option-A shortcut: x[:, :, ::2, ::2] with the channels zero-padded equally on both sides to outChannels',
  forward: (e, node, [x]) => ({ y: shortcutOptionAForward(e, x, node.outChannels) }),
  backward: (_node, g, ctx) => [shortcutOptionABackward(ctx.engine, g, ctx.inputShape(0))],
  saves: {},
  ruleBehaviour: 'plain-gradient',
  rules: plainRules('R of the kept channels scattered back to the even positions'),
  flops: (_node, _in, out) => perImage(out),
  field: (_node, [size]) => ({
    kind: 'window',
    window: { k: [1, 1], s: [2, 2], p: [0, 0], out: [Math.ceil(size[0] / 2), Math.ceil(size[1] / 2)] },
  }),
  tensors: () => [],
};
