/**
 * One record per graph op: everything the executor, the FLOP counter and the receptive-field code
 * know about an op lives in its file under `src/graph/ops/`, so adding an op is one file plus one line
 * in `ops/index.ts`.
 *
 * Conventions: tensors are NCHW (vectors (N, F)); FLOPs count a multiply-add as 2 and are per image;
 * `R` is the upstream gradient dL/dy and `z` the op's forward input.
 */
import type { Engine } from '../../gpu/engine.js';
import { KernelInputError } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { ReluRule } from '../../kernels/relu.js';
import type { GraphNode, ValueId } from '../graph.js';

export interface NodeBase {
  /** PyTorch module name; a module applied twice (torchvision's block `relu`) gets `#2`, `#3` suffixes. */
  name: string;
  inputs: ValueId[];
  output: ValueId;
}

/**
 * A parameter slot: the state_dict name and shape the architecture declares, and the GPU value, which
 * is null in a shape-only graph (built for its geometry; it cannot run).
 */
export interface Param<T = Tensor> {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: T | null;
}

/** The GPU value of a parameter, or an error saying the graph was built for its shapes only. */
export function paramValue<T>(p: Param<T>): T {
  if (p.value === null) throw new KernelInputError(`${p.name}: this graph holds shapes only (no weights); it cannot be executed`);
  return p.value;
}

/** A node absorbed into the epilogue of the node before it, with its inputs other than the chained value. */
export interface FusedNode {
  node: GraphNode;
  others: Tensor[];
}

export interface ForwardResult {
  y: Tensor;
  /** Op-private state for backward (max-pool switches); owned by the trace. */
  saved?: Tensor;
}

/** Neighbours whose backward a node's backward computes too (OpRecord.foldsBackward, absorbsInputBackward). */
export interface BackwardFusion {
  /** Nodes after this one, reading only its output (a conv's batch-norm). */
  after: readonly GraphNode[];
  /**
   * The producer of input 0 (a ReLU before a conv), its output as the forward pass kept it, and the
   * gradient its output already received from its other readers (null when this node is the only one).
   */
  before: { node: GraphNode; output: Tensor; plus: Tensor | null } | null;
}

/** What backward may read: values the forward pass kept because the op's `saves` asked for them. */
export interface BackwardContext {
  engine: Engine;
  rule: ReluRule;
  input(k: number): Tensor;
  inputShape(k: number): readonly number[];
  output(): Tensor;
  saved(): Tensor;
}

/** A (height, width) pair: kernel sizes, strides, paddings and dilations of sliding-window ops. */
export type Pair = [h: number, w: number];

/** A sliding window on one input, PyTorch semantics per axis: effective kernel (dilation applied), stride, padding. */
export interface Window {
  k: Pair;
  s: Pair;
  p: Pair;
  out: Pair;
}

/** How an op moves receptive fields (features/receptive-field.ts reads this). */
export type FieldRule =
  /** A window over input 0; `global` when every output unit reads the whole map (global pooling). */
  | { kind: 'window'; window: Window; global?: boolean }
  /** Position-wise: each output unit sees what the same unit of input 0 sees. */
  | { kind: 'same' }
  /** A join of maps of one size (add, concat): the input whose field is largest (the main branch). */
  | { kind: 'widest' }
  /** A vector whose every unit reads every position (flatten, linear). */
  | { kind: 'vector' };

/** How guided backprop and DeconvNet treat an op (Captum's convention: the rule at ReLU-family units only). */
export type RuleBehaviour =
  /** A ReLU-family unit: the rule replaces the gradient (see `rules`). */
  | 'relu-family'
  /** Every rule takes the plain gradient here. */
  | 'plain-gradient';

export interface OpRecord<N extends GraphNode> {
  /** What the op computes and which PyTorch module(s) it stands for. */
  readonly doc: string;
  forward(e: Engine, node: N, inputs: Tensor[], fused: readonly FusedNode[]): ForwardResult;
  /**
   * dL/d(each input) for dL/dy = `g`; new tensors the caller owns. `fusion` names neighbours whose
   * backward this one computes too: then `g` is the gradient at the last of `fusion.after`, and the first
   * gradient returned is at the input of `fusion.before`.
   */
  backward(node: N, g: Tensor, ctx: BackwardContext, fusion: BackwardFusion): Tensor[];
  /** What backward reads, so the forward pass keeps it when a backward may follow. */
  readonly saves: { inputs?: boolean; output?: boolean; state?: boolean };
  readonly ruleBehaviour: RuleBehaviour;
  /** The backward formula under each rule, as documentation (docs/design.md lists them). */
  readonly rules: Readonly<Record<ReluRule, string>>;
  /**
   * Whether `next`, which reads only this node's output (directly or after `chain`), can run in this
   * op's epilogue; `inShapes`: the shapes of this node's inputs in this pass. The executor also requires
   * that the chained values are neither kept nor saved.
   */
  absorbs?(node: N, chain: readonly GraphNode[], next: GraphNode, e: Engine, inShapes: readonly (readonly number[])[]): boolean;
  /**
   * Whether this node's backward can include that of `next`, which reads only this node's output (a
   * conv takes its batch-norm's into the folded weights). The executor also requires that no gradient is
   * asked for between them.
   */
  foldsBackward?(node: N, next: GraphNode): boolean;
  /**
   * Whether this node's backward can include that of `producer` (a conv runs the backward of the ReLU
   * before it in its store). The executor asks only where every other reader of the producer's output
   * has passed its gradient back already, and no gradient is asked for at that output.
   */
  absorbsInputBackward?(node: N, producer: GraphNode): boolean;
  /** FLOPs per image from the input and output shapes the forward pass saw. */
  flops(node: N, inShapes: readonly (readonly number[])[], outShape: readonly number[]): number;
  /**
   * Elements per image of the largest buffer the op's kernels make beside its inputs, output and their
   * gradients that must fit one binding (a conv's padded input copy on some kernel variants); none by
   * default. graph/pass-size.ts sizes batches from it.
   */
  scratchPerImage?(e: Engine, node: N, inShapes: readonly (readonly number[])[], outShape: readonly number[]): number;
  /** Receptive-field rule for input spatial sizes `inSizes` (1 x 1 for vectors). */
  field(node: N, inSizes: readonly Pair[]): FieldRule;
  /** GPU tensors the node owns (parameters), for release. */
  tensors(node: N): Tensor[];
  /** Frees derived copies a kernel cached for the node's parameters (packed conv weights). */
  releaseCaches?(e: Engine, node: N): void;
}

/** Elements per image of a shape (N, ...). */
export function perImage(shape: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i];
  return n;
}

/** The backward formulas of an op that has no ReLU-family behaviour: all three rules take the gradient. */
export function plainRules(gradient: string): Record<ReluRule, string> {
  return { standard: gradient, guided: gradient, deconvnet: gradient };
}

/** A number-or-pair option as a pair. */
export function pairOf(v: number | readonly number[] | undefined, fallback: Pair): Pair {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return [v, v];
  return [v[0], v[1]];
}

/** The field rule of a sliding window (conv, pools) in PyTorch's terms; the kernel is the undilated one. */
export function slidingWindow(
  size: Pair,
  kernel: Pair,
  o: { stride?: number | readonly number[]; padding?: number | readonly number[]; dilation?: number | readonly number[]; ceil?: boolean },
): FieldRule {
  const s = pairOf(o.stride, kernel);
  const p = pairOf(o.padding, [0, 0]);
  const d = pairOf(o.dilation, [1, 1]);
  const k: Pair = [d[0] * (kernel[0] - 1) + 1, d[1] * (kernel[1] - 1) + 1];
  const out: Pair = [windowOut(size[0], k[0], s[0], p[0], o.ceil), windowOut(size[1], k[1], s[1], p[1], o.ceil)];
  return { kind: 'window', window: { k, s, p, out } };
}

/** PyTorch's output size of a window: floor (or ceil, whose last window must start inside input or left padding). */
export function windowOut(n: number, k: number, s: number, p: number, ceil = false): number {
  const span = n + 2 * p - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}
