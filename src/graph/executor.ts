import type { Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import { addInPlace } from '../kernels/elementwise.js';
import type { ReluRule } from '../kernels/relu.js';
import { INPUT, type Graph, type GraphNode, type ValueId } from './graph.js';
import { resolveLayer } from './layer-names.js';
import { opOf } from './ops/index.js';
import type { BackwardContext, BackwardFusion, FusedNode } from './ops/op.js';

/** Options of `model.forward`: which activations to keep, whether a backward pass will follow, and where to start. */
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
    /** Op-private state for backward, by node index (max-pool switches). */
    readonly saved: Map<number, Tensor>,
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
    for (const t of this.saved.values()) this.engine.release(t);
    this.values.clear();
    this.saved.clear();
  }
}

/**
 * Values backward reads: outputs and inputs of the nodes whose records say `saves`. Kept by a forward
 * pass that may be followed by a backward one.
 */
function savedForBackward(graph: Graph): Set<ValueId> {
  const values = new Set<ValueId>();
  for (const n of graph.nodes) {
    const { saves } = opOf(n);
    if (saves.output) values.add(n.output);
    if (saves.inputs) for (const v of n.inputs) values.add(v);
  }
  return values;
}

export function runForward(e: Engine, graph: Graph, x: Tensor, opts: ForwardOptions = {}): Trace {
  const forBackward = opts.forBackward ?? true;
  const keep = new Set((opts.keep ?? []).map((l) => resolveLayer(graph, l)));
  keep.add(graph.output);
  const values = new Map<ValueId, Tensor>();
  const shapes = new Map<ValueId, readonly number[]>();
  const saved = new Map<number, Tensor>();
  const borrowed = new Set<ValueId>();
  const savedValues = forBackward ? savedForBackward(graph) : new Set<ValueId>();

  let first = 0;
  if (opts.startAt) {
    const start = resolveLayer(graph, opts.startAt.layer);
    first = graph.producerIndex(start) + 1;
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
  const tensorOf = (node: GraphNode, v: ValueId) => {
    const t = values.get(v);
    if (!t) throw new KernelInputError(`internal: ${node.name} needs value ${v}, which was released`);
    return t;
  };
  const consumed = (v: ValueId) => {
    const left = (consumers.get(v) ?? 0) - 1;
    consumers.set(v, left);
    if (left === 0 && !keep.has(v) && !borrowed.has(v) && !savedValues.has(v)) {
      e.release(values.get(v)!);
      values.delete(v);
    }
  };

  const nodes = graph.nodes;
  for (let i = first; i < nodes.length; i++) {
    const node = nodes[i];
    const record = opOf(node);
    // Following nodes the op computes in its epilogue: each reads only the value before it, which then
    // never exists, so that value must be neither kept, nor read by anything else, nor saved for backward;
    // their other inputs (a residual) must exist already.
    const chain: GraphNode[] = [];
    const inputs = node.inputs.map((v) => tensorOf(node, v));
    const inShapes = inputs.map((t) => t.shape);
    for (;;) {
      const next = nodes[i + 1 + chain.length];
      const last = chain.length ? chain[chain.length - 1] : node;
      if (
        !next ||
        !record.absorbs?.(node, chain, next, e, inShapes) ||
        next.inputs[0] !== last.output ||
        next.inputs.slice(1).includes(last.output) ||
        !next.inputs.slice(1).every((v) => values.has(v)) ||
        consumers.get(last.output) !== 1 ||
        keep.has(last.output) ||
        savedValues.has(last.output)
      )
        break;
      chain.push(next);
    }
    const fused: FusedNode[] = chain.map((n) => ({ node: n, others: n.inputs.slice(1).map((v) => tensorOf(n, v)) }));
    e.markLayer(node.name, 'forward');
    const { y, saved: state } = record.forward(e, node, inputs, fused);
    if (state) saved.set(i, state);
    for (const n of [node, ...chain]) shapes.set(n.output, y.shape);
    values.set((chain.length ? chain[chain.length - 1] : node).output, y);
    // The chained values never existed: nothing is left to release for them.
    for (const n of chain) consumers.set(n.inputs[0], 0);
    for (const v of node.inputs) consumed(v);
    for (const n of chain) for (const v of n.inputs.slice(1)) consumed(v);
    i += chain.length;
  }
  e.markLayer('');
  return new Trace(e, graph, values, saved, shapes, borrowed, first, forBackward);
}

function assertSelfContainedSuffix(graph: Graph, first: number, start: ValueId, layer: string): void {
  const produced = new Set(graph.nodes.slice(first).map((n) => n.output));
  for (const n of graph.nodes.slice(first)) {
    for (const v of n.inputs) {
      if (v !== start && !produced.has(v)) {
        throw new KernelInputError(
          `cannot start the forward pass at "${layer}": ${n.name} after it also reads an earlier value (a residual shortcut or concatenation); start at a block or stage output instead`,
        );
      }
    }
  }
}

/** Where a backward pass starts: the gradient of the objective with respect to one layer's output (the logits by default). */
export interface BackwardSeed {
  /** Where the gradient is injected; the model output (logits) when omitted. */
  layer?: string;
  /** dObjective/d(layer output), same shape as that output. Borrowed: not released. */
  grad: Tensor;
}

/** Options of `model.backward`: the ReLU rule, the layers to read gradients at, and whether to go on to the input. */
export interface BackwardOptions {
  rule?: ReluRule;
  /** Layers whose gradient to return (the seed layer and earlier). */
  gradsAt?: readonly string[];
  /** Also propagate to the input. Default true; false stops as soon as `gradsAt` are complete. */
  toInput?: boolean;
}

/** Gradients of a backward pass, owned by the caller: at the input and at the requested layers. */
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
  const producerIndex = (v: ValueId) => graph.producerIndex(v);
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

  // Backward fusion of neighbours. A node whose record folds the backward of the node after it (a conv
  // its batch-norm) takes that node's output gradient as it is; the folded node's pass never runs. A node
  // whose record absorbs the backward of its input's producer (a conv the ReLU before it) returns the
  // gradient at the producer's input, once every other reader of the value between them has passed its
  // gradient back (a residual block's shortcut), which the node then adds in. Never where a gradient is
  // asked for at the value between them.
  const foldedAfter = new Map<number, GraphNode[]>();
  /** The producer of `node`'s input 0 where the two may fuse (run in this pass, one input, no gradient asked for between them), else -1. */
  const fusableProducer = (node: GraphNode): number => {
    const p = producerIndex(node.inputs[0]);
    return p >= stopIndex && graph.nodes[p].inputs.length === 1 && !wanted.has(node.inputs[0]) ? p : -1;
  };
  const foldsInto = (node: GraphNode, i: number): number => {
    if (node.inputs.length !== 1 || foldedAfter.has(i) || wanted.has(node.output)) return -1;
    const p = fusableProducer(node);
    return p >= 0 && graph.readersOf(node.inputs[0]).length === 1 && opOf(graph.nodes[p]).foldsBackward?.(graph.nodes[p], node) ? p : -1;
  };
  const absorbedBefore = (node: GraphNode, i: number): BackwardFusion['before'] => {
    const v = node.inputs[0];
    const p = fusableProducer(node);
    if (p < 0 || foldedAfter.has(p) || node.inputs.indexOf(v, 1) >= 0) return null;
    // Readers after this node have run already (the loop walks backwards).
    if (!graph.readersOf(v).every((k) => k >= i)) return null;
    const producer = graph.nodes[p];
    const output = trace.values.get(v);
    if (!output || !opOf(node).absorbsInputBackward?.(node, producer)) return null;
    return { node: producer, output, plus: grads.get(v) ?? null };
  };

  for (let i = seedIndex; i >= stopIndex; i--) {
    const node = graph.nodes[i];
    const g = grads.get(node.output);
    if (!g) continue; // no gradient reaches this node from the seed
    const into = foldsInto(node, i);
    if (into >= 0) {
      grads.delete(node.output);
      grads.set(graph.nodes[into].output, g);
      foldedAfter.set(into, [node]);
      continue;
    }
    e.markLayer(node.name, 'backward');
    const fusion: BackwardFusion = { after: foldedAfter.get(i) ?? [], before: absorbedBefore(node, i) };
    const inputGrads = opOf(node).backward(node, g, backwardContext(e, trace, node, i, rule), fusion);
    if (fusion.before) {
      // The producer's output gradient (its other readers' part) went into this node's result.
      const { plus } = fusion.before;
      grads.delete(node.inputs[0]);
      if (plus && !borrowedGrads.has(plus)) e.release(plus);
      accumulate(fusion.before.node.inputs[0], inputGrads[0]);
      node.inputs.slice(1).forEach((v, k) => accumulate(v, inputGrads[k + 1]));
    } else {
      node.inputs.forEach((v, k) => accumulate(v, inputGrads[k]));
    }
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

/** What a node's backward may read from the trace. */
function backwardContext(e: Engine, trace: Trace, node: GraphNode, index: number, rule: ReluRule): BackwardContext {
  const need = <T>(t: T | undefined, what: string): T => {
    if (!t) throw new KernelInputError(`internal: ${what} of ${node.name} was not kept for backward`);
    return t;
  };
  return {
    engine: e,
    rule,
    input: (k) => need(trace.values.get(node.inputs[k]), `input ${k}`),
    inputShape: (k) => need(trace.shapes.get(node.inputs[k]), `the shape of input ${k}`),
    output: () => need(trace.values.get(node.output), 'the output'),
    saved: () => need(trace.saved.get(index), 'the saved state'),
  };
}
