import type { Tensor } from '../gpu/tensor.js';
import type { LinearWeight } from '../kernels/matmul.js';
import type { Conv2dOptions } from '../kernels/conv2d.js';
import type { Pool2dOptions } from '../kernels/pool.js';

/**
 * A model is a list of nodes in execution order over numbered values. Value 0 is the input.
 * Every node carries the PyTorch `named_modules` name of the module that produced it, so a user names
 * a layer exactly as in PyTorch (`layer4.1`, `layer4.1.conv2`, `features.29`).
 * Containers (`layer4`, `layer4.1`, `layer1.0.downsample`) are aliases for the value their last
 * module produced.
 */

export type ValueId = number;

interface NodeBase {
  /** PyTorch module name; a module applied twice (torchvision's block `relu`) gets `#2`, `#3` suffixes. */
  name: string;
  inputs: ValueId[];
  output: ValueId;
}

export interface ConvNode extends NodeBase {
  op: 'conv';
  weight: Tensor;
  bias: Tensor | null;
  opts: Conv2dOptions;
}
export interface AffineNode extends NodeBase {
  op: 'affine';
  scale: Tensor;
  shift: Tensor;
} // batch-norm, inference form
export interface ReluNode extends NodeBase {
  op: 'relu';
}
export interface MaxPoolNode extends NodeBase {
  op: 'maxpool';
  opts: Pool2dOptions;
}
export interface AvgPoolNode extends NodeBase {
  op: 'avgpool';
  opts: Pool2dOptions;
}
export interface AdaptiveAvgPoolNode extends NodeBase {
  op: 'adaptiveavgpool';
  size: [number, number];
}
export interface AddNode extends NodeBase {
  op: 'add';
}
export interface ShortcutANode extends NodeBase {
  op: 'shortcutA';
  outChannels: number;
}
export interface FlattenNode extends NodeBase {
  op: 'flatten';
}
export interface LinearNode extends NodeBase {
  op: 'linear';
  weight: LinearWeight;
  bias: Tensor | null;
}
/** Dropout and empty shortcuts: identity at inference, kept so every PyTorch name resolves. */
export interface IdentityNode extends NodeBase {
  op: 'identity';
}

export type GraphNode =
  | ConvNode
  | AffineNode
  | ReluNode
  | MaxPoolNode
  | AvgPoolNode
  | AdaptiveAvgPoolNode
  | AddNode
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

  /** Appends a node; returns its output value. */
  add(node: NodeSpec): ValueId {
    const output = this.nextValue++;
    let name = node.name;
    if (this.nodes.some((n) => n.name === name)) {
      let k = 2;
      while (this.nodes.some((n) => n.name === `${node.name}#${k}`)) k++;
      name = `${node.name}#${k}`;
    }
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

  producer(value: ValueId): GraphNode | undefined {
    return this.nodes.find((n) => n.output === value);
  }

  /** Every layer name a user may pass, in execution order. */
  layerNames(): string[] {
    const order = new Map(this.nodes.map((n, i) => [n.output, i] as const));
    return [...this.names.entries()]
      .sort((a, b) => (order.get(a[1]) ?? -1) - (order.get(b[1]) ?? -1) || a[0].length - b[0].length)
      .map(([n]) => n);
  }

  /** Weight tensors owned by the graph, for release. */
  parameters(): Tensor[] {
    const out: Tensor[] = [];
    for (const n of this.nodes) {
      if (n.op === 'conv') out.push(n.weight, ...(n.bias ? [n.bias] : []));
      else if (n.op === 'affine') out.push(n.scale, n.shift);
      else if (n.op === 'linear') out.push(...n.weight.chunks, ...(n.bias ? [n.bias] : []));
    }
    return out;
  }
}
