import type { Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { channelAffineBackward, channelAffineForward } from '../kernels/channel-affine.js';
import { conv2dBackwardInput, conv2dForward } from '../kernels/conv2d.js';
import { addInPlace, addRelu, binary } from '../kernels/elementwise.js';
import { linearBackwardInput, linearForward } from '../kernels/matmul.js';
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
  maxPool2dBackward,
  maxPool2dForward,
} from '../kernels/pool.js';
import { reluBackward, reluForward, type ReluRule } from '../kernels/relu.js';
import { shortcutOptionABackward, shortcutOptionAForward } from '../kernels/shortcut.js';
import { INPUT, type Graph, type GraphNode, type ValueId } from './graph.js';
import { resolveLayer } from './layer-names.js';

export interface ForwardOptions {
  /** Layer names whose activations the trace keeps and returns. */
  keep?: readonly string[];
  /** Keep what a later backward pass needs (ReLU outputs, max-pool switches). Default true. */
  forBackward?: boolean;
  /** Run only the layers after `layer`, with `value` standing for its output (L2-CAF). Not released. */
  startAt?: { layer: string; value: Tensor };
}

/**
 * What a forward pass leaves behind: the logits, the requested activations and what backward needs.
 * The caller owns it and must `release()` it.
 */
export class Trace {
  constructor(
    readonly engine: Engine,
    readonly graph: Graph,
    readonly values: Map<ValueId, Tensor>,
    readonly switches: Map<number, Tensor>,
    readonly shapes: Map<ValueId, readonly number[]>,
    /** Values the trace does not own (the caller's input, a startAt value). */
    readonly borrowed: Set<ValueId>,
    readonly firstNode: number,
    readonly forBackward: boolean,
  ) {}

  get logits(): Tensor {
    return this.require(this.graph.output, 'the model output');
  }

  /** The activation kept for `layer` (pass it in `keep`). */
  activation(layer: string): Tensor {
    return this.require(resolveLayer(this.graph, layer), `layer "${layer}"`);
  }

  shapeOf(layer: string): readonly number[] {
    const v = resolveLayer(this.graph, layer);
    const s = this.shapes.get(v);
    if (!s) throw new KernelInputError(`layer "${layer}" was not computed by this forward pass`);
    return s;
  }

  private require(v: ValueId, what: string): Tensor {
    const t = this.values.get(v);
    if (!t) throw new KernelInputError(`${what} was not kept by this forward pass; pass it in forward({ keep: [...] })`);
    return t;
  }

  release(): void {
    for (const [v, t] of this.values) if (!this.borrowed.has(v)) this.engine.release(t);
    for (const t of this.switches.values()) this.engine.release(t);
    this.values.clear();
    this.switches.clear();
  }
}

/** Nodes whose output feeds only a ReLU can compute the ReLU in their epilogue. */
function fusableIntoRelu(node: GraphNode): boolean {
  return node.op === 'conv' || node.op === 'affine' || node.op === 'add' || node.op === 'linear';
}

export function runForward(e: Engine, graph: Graph, x: Tensor, opts: ForwardOptions = {}): Trace {
  const forBackward = opts.forBackward ?? true;
  const keep = new Set((opts.keep ?? []).map((l) => resolveLayer(graph, l)));
  keep.add(graph.output);
  const values = new Map<ValueId, Tensor>();
  const shapes = new Map<ValueId, readonly number[]>();
  const switches = new Map<number, Tensor>();
  const borrowed = new Set<ValueId>();

  let first = 0;
  if (opts.startAt) {
    const start = resolveLayer(graph, opts.startAt.layer);
    first = graph.nodes.findIndex((n) => n.output === start) + 1;
    assertSelfContainedSuffix(graph, first, start, opts.startAt.layer);
    values.set(start, opts.startAt.value);
    shapes.set(start, opts.startAt.value.shape);
    borrowed.add(start);
  } else {
    values.set(INPUT, x);
    shapes.set(INPUT, x.shape);
    borrowed.add(INPUT);
  }

  // Remaining forward consumers of each value: a value is released after its last one.
  const consumers = new Map<ValueId, number>();
  for (const n of graph.nodes.slice(first)) for (const v of n.inputs) consumers.set(v, (consumers.get(v) ?? 0) + 1);

  const nodes = graph.nodes;
  for (let i = first; i < nodes.length; i++) {
    const node = nodes[i];
    const next = nodes[i + 1];
    const fuse =
      next?.op === 'relu' &&
      next.inputs[0] === node.output &&
      fusableIntoRelu(node) &&
      consumers.get(node.output) === 1 &&
      !keep.has(node.output);
    const inputs = node.inputs.map((v) => {
      const t = values.get(v);
      if (!t) throw new KernelInputError(`internal: ${node.name} needs value ${v}, which was released`);
      return t;
    });
    e.markLayer(node.name, 'forward');
    const y = forwardNode(e, node, inputs, fuse, switches, i);
    if (fuse) {
      // The ReLU node's output is the fused result; the pre-ReLU value never exists.
      shapes.set(node.output, y.shape);
      values.set(next.output, y);
      shapes.set(next.output, y.shape);
      consumers.set(node.output, 0);
      i++;
    } else {
      values.set(node.output, y);
      shapes.set(node.output, y.shape);
    }
    for (const v of node.inputs) {
      const left = (consumers.get(v) ?? 0) - 1;
      consumers.set(v, left);
      if (left === 0 && !keep.has(v) && !borrowed.has(v) && !(forBackward && neededByBackward(graph, v))) {
        e.release(values.get(v)!);
        values.delete(v);
      }
    }
  }
  e.markLayer('');
  return new Trace(e, graph, values, switches, shapes, borrowed, first, forBackward);
}

/** ReLU outputs carry the [z > 0] mask every backward rule needs (y > 0 exactly where z > 0). */
function neededByBackward(graph: Graph, v: ValueId): boolean {
  return graph.producer(v)?.op === 'relu';
}

function assertSelfContainedSuffix(graph: Graph, first: number, start: ValueId, layer: string): void {
  const produced = new Set(graph.nodes.slice(first).map((n) => n.output));
  for (const n of graph.nodes.slice(first)) {
    for (const v of n.inputs) {
      if (v !== start && !produced.has(v)) {
        throw new KernelInputError(
          `cannot start the forward pass at "${layer}": ${n.name} after it also reads an earlier value (a residual shortcut); start at a block or stage output instead`,
        );
      }
    }
  }
}

function forwardNode(e: Engine, node: GraphNode, inputs: Tensor[], relu: boolean, switches: Map<number, Tensor>, index: number): Tensor {
  const [x] = inputs;
  switch (node.op) {
    case 'conv':
      return conv2dForward(e, x, node.weight, node.bias, { ...node.opts, activation: relu ? 'relu' : 'none' });
    case 'affine':
      return channelAffineForward(e, x, node.scale, node.shift, { relu });
    case 'relu':
      return reluForward(e, x);
    case 'maxpool': {
      const { y, switches: s } = maxPool2dForward(e, x, node.opts);
      switches.set(index, s);
      return y;
    }
    case 'avgpool':
      return avgPool2dForward(e, x, node.opts);
    case 'adaptiveavgpool':
      return adaptiveAvgPool2dForward(e, x, node.size);
    case 'add':
      return relu ? addRelu(e, inputs[0], inputs[1]) : binary(e, 'add', inputs[0], inputs[1]);
    case 'shortcutA':
      return shortcutOptionAForward(e, x, node.outChannels);
    case 'flatten':
      // A copy, not a view: views share storage and the input may be released before the output.
      return e.clone(x, node.name).reshape([x.shape[0], x.size / x.shape[0]]);
    case 'linear':
      if (x.rank !== 2) throw new KernelInputError(`${node.name}: linear layer expects (N, features), got ${formatShape(x.shape)}`);
      return linearForward(e, x, node.weight, node.bias, { relu });
    case 'identity':
      return e.clone(x, node.name);
  }
}

export interface BackwardSeed {
  /** Where the gradient is injected; the model output (logits) when omitted. */
  layer?: string;
  /** dObjective/d(layer output), same shape as that output. Borrowed: not released. */
  grad: Tensor;
}

export interface BackwardOptions {
  rule?: ReluRule;
  /** Layers whose gradient to return (the seed layer and earlier). */
  gradsAt?: readonly string[];
  /** Also propagate to the input. Default true; false stops as soon as `gradsAt` are complete. */
  toInput?: boolean;
}

export interface BackwardResult {
  /** d/d input, when toInput. */
  input: Tensor | null;
  grads: Map<string, Tensor>;
  release(): void;
}

export function runBackward(e: Engine, trace: Trace, seed: BackwardSeed, opts: BackwardOptions = {}): BackwardResult {
  const { graph } = trace;
  if (!trace.forBackward) throw new KernelInputError('this forward pass ran with forBackward: false; run it again to take gradients');
  const rule = opts.rule ?? 'standard';
  const toInput = opts.toInput ?? true;
  const seedValue = seed.layer === undefined ? graph.output : resolveLayer(graph, seed.layer);
  const seedShape = trace.shapes.get(seedValue);
  if (!seedShape) throw new KernelInputError(`cannot inject a gradient at "${seed.layer}": it was not computed by the forward pass`);
  if (seedShape.length !== seed.grad.rank || seedShape.some((d, i) => d !== seed.grad.shape[i])) {
    throw new KernelInputError(
      `gradient seed ${formatShape(seed.grad.shape)} does not match the shape of "${seed.layer ?? 'logits'}" ${formatShape(seedShape)}`,
    );
  }
  const wanted = new Map<ValueId, string[]>();
  for (const l of opts.gradsAt ?? []) {
    const v = resolveLayer(graph, l);
    wanted.set(v, [...(wanted.get(v) ?? []), l]);
  }
  const producerIndex = (v: ValueId) => (v === INPUT ? -1 : graph.nodes.findIndex((n) => n.output === v));
  const seedIndex = producerIndex(seedValue);
  for (const [v, names] of wanted) {
    if (producerIndex(v) > seedIndex)
      throw new KernelInputError(`gradient at "${names[0]}" is after the seed layer "${seed.layer}"; no gradient flows there`);
    if (producerIndex(v) < trace.firstNode - 1) throw new KernelInputError(`gradient at "${names[0]}": the forward pass started after it`);
  }
  const stopIndex = toInput ? trace.firstNode : Math.min(seedIndex + 1, ...[...wanted.keys()].map(producerIndex).map((i) => i + 1));

  const grads = new Map<ValueId, Tensor>();
  const borrowedGrads = new Set<Tensor>([seed.grad]);
  grads.set(seedValue, seed.grad);
  const accumulate = (v: ValueId, g: Tensor) => {
    const existing = grads.get(v);
    if (!existing) {
      grads.set(v, g);
    } else if (borrowedGrads.has(existing)) {
      // Never write into the caller's tensor: accumulate into a copy.
      const copy = e.clone(existing, 'grad.accumulate');
      addInPlace(e, copy, g);
      e.release(g);
      grads.set(v, copy);
    } else {
      addInPlace(e, existing, g);
      e.release(g);
    }
  };

  for (let i = seedIndex; i >= stopIndex; i--) {
    const node = graph.nodes[i];
    const g = grads.get(node.output);
    if (!g) continue; // no gradient reaches this node from the seed
    e.markLayer(node.name, 'backward');
    const inputGrads = backwardNode(e, trace, node, i, g, rule);
    node.inputs.forEach((v, k) => accumulate(v, inputGrads[k]));
    if (!wanted.has(node.output) && !borrowedGrads.has(g)) {
      e.release(g);
      grads.delete(node.output);
    }
  }

  e.markLayer('');
  const named = new Map<string, Tensor>();
  for (const [v, names] of wanted) {
    const g = grads.get(v);
    if (!g) throw new KernelInputError(`no gradient reaches "${names[0]}" from the seed`);
    for (const n of names) named.set(n, g);
  }
  const input = toInput ? (grads.get(trace.firstNode === 0 ? INPUT : graph.nodes[trace.firstNode - 1].output) ?? null) : null;
  // Release every intermediate gradient that is neither returned nor borrowed.
  for (const [v, g] of grads) {
    if (!wanted.has(v) && g !== input && !borrowedGrads.has(g)) e.release(g);
  }
  return {
    input,
    grads: named,
    release() {
      const seen = new Set<Tensor>();
      for (const t of [input, ...named.values()]) {
        if (t && !seen.has(t) && !borrowedGrads.has(t)) {
          seen.add(t);
          e.release(t);
        }
      }
    },
  };
}

/** Gradients w.r.t. each input of `node`, given dL/d(node output). New tensors, owned by the caller. */
function backwardNode(e: Engine, trace: Trace, node: GraphNode, index: number, g: Tensor, rule: ReluRule): Tensor[] {
  const inShape = (k = 0) => trace.shapes.get(node.inputs[k])!;
  switch (node.op) {
    case 'conv':
      return [conv2dBackwardInput(e, g, node.weight, inShape(), node.opts)];
    case 'affine':
      return [channelAffineBackward(e, g, node.scale)];
    case 'relu': {
      const y = trace.values.get(node.output);
      if (!y) throw new KernelInputError(`internal: ReLU output of ${node.name} was not kept for backward`);
      return [reluBackward(e, y, g, rule)];
    }
    case 'maxpool':
      return [maxPool2dBackward(e, g, trace.switches.get(index)!, inShape(), node.opts)];
    case 'avgpool':
      return [avgPool2dBackward(e, g, inShape(), node.opts)];
    case 'adaptiveavgpool':
      return [adaptiveAvgPool2dBackward(e, g, inShape())];
    case 'add':
      return [e.clone(g, 'grad.add'), e.clone(g, 'grad.add')];
    case 'shortcutA':
      return [shortcutOptionABackward(e, g, inShape())];
    case 'flatten':
      return [e.clone(g, 'grad.flatten').reshape(inShape())];
    case 'linear':
      return [linearBackwardInput(e, g, node.weight)];
    case 'identity':
      return [e.clone(g, 'grad.identity')];
  }
}
