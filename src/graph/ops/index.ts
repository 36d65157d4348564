/**
 * The op registry: every op kind a graph node can have, and its record. The executor, the FLOP
 * counter and the receptive-field code look ops up here and nowhere else.
 */
import type { GraphNode } from '../graph.js';
import { adaptiveavgpool } from './adaptive-avgpool.js';
import { add } from './add.js';
import { affine } from './affine.js';
import { avgpool } from './avgpool.js';
import { channelScale } from './channel-scale.js';
import { concat } from './concat.js';
import { conv } from './conv.js';
import { flatten } from './flatten.js';
import { hardsigmoid } from './hardsigmoid.js';
import { hardswish } from './hardswish.js';
import { identity } from './identity.js';
import { linear } from './linear.js';
import { maxpool } from './maxpool.js';
import type { OpRecord } from './op.js';
import { relu } from './relu.js';
import { relu6 } from './relu6.js';
import { shortcutA } from './shortcut-a.js';
import { sigmoid } from './sigmoid.js';
import { silu } from './silu.js';

export type OpName = GraphNode['op'];

export const OPS: { readonly [K in OpName]: OpRecord<Extract<GraphNode, { op: K }>> } = {
  conv,
  affine,
  relu,
  relu6,
  hardswish,
  hardsigmoid,
  silu,
  sigmoid,
  maxpool,
  avgpool,
  adaptiveavgpool,
  add,
  channelScale,
  concat,
  shortcutA,
  flatten,
  linear,
  identity,
};

/** The record of a node's op. */
export function opOf<N extends GraphNode>(node: N): OpRecord<N> {
  // TypeScript cannot correlate OPS[node.op] with N; the mapped type above guarantees it.
  return OPS[node.op as OpName] as unknown as OpRecord<N>;
}
