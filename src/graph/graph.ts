import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import type { AdaptiveAvgPoolNode } from './ops/adaptive-avgpool.js';
import type { AddNode } from './ops/add.js';
import type { AffineNode } from './ops/affine.js';
import type { AvgPoolNode } from './ops/avgpool.js';
import type { ChannelScaleNode } from './ops/channel-scale.js';
import type { ConcatNode } from './ops/concat.js';
import type { ConvNode } from './ops/conv.js';
import type { FlattenNode } from './ops/flatten.js';
import type { HardsigmoidNode } from './ops/hardsigmoid.js';
import type { HardswishNode } from './ops/hardswish.js';
import type { IdentityNode } from './ops/identity.js';
import { opOf } from './ops/index.js';
import type { LinearNode } from './ops/linear.js';
import type { MaxPoolNode } from './ops/maxpool.js';
import type { ReluNode } from './ops/relu.js';
import type { Relu6Node } from './ops/relu6.js';
import type { ShortcutANode } from './ops/shortcut-a.js';
import type { SigmoidNode } from './ops/sigmoid.js';
import type { SiluNode } from './ops/silu.js';

export type { AdaptiveAvgPoolNode, AddNode, AffineNode, AvgPoolNode, ChannelScaleNode, ConcatNode, ConvNode, FlattenNode };
export type { HardsigmoidNode, HardswishNode, IdentityNode, LinearNode, MaxPoolNode, ReluNode, Relu6Node, ShortcutANode };
export type { SigmoidNode, SiluNode };
export type { Param } from './ops/op.js';

/**
 * A model is a list of nodes in execution order over numbered values. Value 0 is the input.
 * Every node carries the PyTorch `named_modules` name of the module that produced it, so a user names
 * a layer exactly as in PyTorch (`layer4.1`, `layer4.1.conv2`, `features.29`).
 * Containers (`layer4`, `layer4.1`, `layer1.0.downsample`) are aliases for the value their last
 * module produced. What each op does lives in its record (`ops/`).
 */

export type ValueId = number;

export type GraphNode =
  | ConvNode
  | AffineNode
  | ReluNode
  | Relu6Node
  | HardswishNode
  | HardsigmoidNode
  | SiluNode
  | SigmoidNode
  | MaxPoolNode
  | AvgPoolNode
  | AdaptiveAvgPoolNode
  | AddNode
  | ChannelScaleNode
  | ConcatNode
  | ShortcutANode
  | FlattenNode
  | LinearNode
  | IdentityNode;

/** A node before the graph numbers its output. */
export type NodeSpec = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'output'> : never) : never;

export const INPUT: ValueId = 0;

export class Graph {
  readonly nodes: GraphNode[] = [];
  /** Layer name -> value. Module names, `#k` instances and container aliases. */
  readonly names = new Map<string, ValueId>();
  private nextValue = 1;
  private readonly producers = new Map<ValueId, number>();
  /** Value -> indices of the nodes reading it, built on first use (nodes are only appended). */
  private readers: Map<ValueId, number[]> | null = null;

  /** Appends a node; returns its output value. */
  add(node: NodeSpec): ValueId {
    const output = this.nextValue++;
    let name = node.name;
    if (this.names.has(name) && this.nodes.some((n) => n.name === name)) {
      let k = 2;
      while (this.nodes.some((n) => n.name === `${node.name}#${k}`)) k++;
      name = `${node.name}#${k}`;
    }
    this.producers.set(output, this.nodes.length);
    this.readers = null;
    this.nodes.push({ ...node, name, output } as GraphNode);
    this.names.set(name, output);
    // The unsuffixed name follows the latest call, like a PyTorch forward hook that fires twice.
    this.names.set(node.name, output);
    return output;
  }

  /** Names a container (block, stage, Sequential) after the value its last module produced. */
  alias(name: string, value: ValueId): void {
    this.names.set(name, value);
  }

  get output(): ValueId {
    return this.nodes[this.nodes.length - 1].output;
  }

  /** Index of the node producing `value` (-1 for the input). */
  producerIndex(value: ValueId): number {
    return this.producers.get(value) ?? -1;
  }

  /** Indices of the nodes that read `value`, in execution order (each node once). */
  readersOf(value: ValueId): readonly number[] {
    if (!this.readers) {
      const readers = new Map<ValueId, number[]>();
      this.nodes.forEach((n, k) => {
        for (const v of new Set(n.inputs)) {
          const list = readers.get(v);
          if (list) list.push(k);
          else readers.set(v, [k]);
        }
      });
      this.readers = readers;
    }
    return this.readers.get(value) ?? [];
  }

  producer(value: ValueId): GraphNode | undefined {
    const i = this.producerIndex(value);
    return i < 0 ? undefined : this.nodes[i];
  }

  /** Every layer name a user may pass, in execution order. */
  layerNames(): string[] {
    return [...this.names.entries()]
      .sort((a, b) => this.producerIndex(a[1]) - this.producerIndex(b[1]) || a[0].length - b[0].length)
      .map(([n]) => n);
  }

  /**
   * A graph with the same values and names whose nodes are `f(node, index)`: for swapping parameters
   * (same op, same wiring), e.g. the sanity checks' randomised copies.
   */
  mapNodes(f: (node: GraphNode, index: number) => GraphNode): Graph {
    const g = new Graph();
    for (const [i, n] of this.nodes.entries()) g.nodes.push(f(n, i));
    for (const [k, v] of this.names) g.names.set(k, v);
    for (const [k, v] of this.producers) g.producers.set(k, v);
    g.nextValue = this.nextValue;
    return g;
  }

  /** Weight tensors owned by the graph (none in a shape-only graph). */
  parameters(): Tensor[] {
    return this.nodes.flatMap((n) => opOf(n).tensors(n));
  }

  /** Frees every parameter on the GPU and the copies kernels cached from them. */
  release(e: Engine): void {
    for (const n of this.nodes) opOf(n).releaseCaches?.(e, n);
    for (const t of this.parameters()) e.release(t);
  }
}
