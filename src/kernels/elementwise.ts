import source from '../../shaders/elementwise.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel, wgslEnum, type ParamValues } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';
import { scoped } from '../gpu/scopes.js';

const elementwise = defineKernel('elementwise', source);
const WG = 256;
const MAX_RANK = 6;

const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
const binaryId = wgslEnum(elementwise, 'OP_', BINARY_OPS);

const UNARY_OPS = ['abs', 'relu', 'exp', 'log', 'sqrt', 'tanh', 'neg'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
/** The maps of elementwise.wgsl: the unary ops plus those with scalar operands. */
const mapId = wgslEnum(elementwise, 'MAP_', [...UNARY_OPS, 'affine', 'pow', 'clamp'] as const);

/** `struct Params` of the flat entry points: n elements (or vec4s) and the map's scalar operands. */
function params(n: number, f0 = 0, f1 = 0): ParamValues {
  return { n, f0, f1 };
}

/** `struct BcastParams`: the collapsed output shape and both inputs' strides, padded to MAX_RANK. */
function bcastParams(n: number, g: { shape: number[]; sa: number[]; sb: number[] }): ParamValues {
  const p: ParamValues = { n };
  for (let d = 0; d < MAX_RANK; d++) {
    p[`s${d}`] = g.shape[d];
    p[`sa${d}`] = g.sa[d];
    p[`sb${d}`] = g.sb[d];
  }
  return p;
}

function assertF32Pair(kernel: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new KernelInputError(
      `${kernel}: dtype mismatch, a is ${a.dtype} ${formatShape(a.shape)} and b is ${b.dtype} ${formatShape(b.shape)}; both must be f32`,
    );
  }
}

/** NumPy broadcasting: align trailing axes; each pair of sizes must match or one of them be 1. */
export function broadcastShapes(kernel: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new KernelInputError(
        `${kernel}: shapes ${formatShape(a)} and ${formatShape(b)} cannot broadcast (axis ${i - rank}: ${da} vs ${db}; sizes must match or one be 1)`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Row-major strides of `shape` read against `out` (right-aligned), 0 on broadcast axes. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = out.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Drops size-1 axes and merges neighbours that are contiguous for both inputs, so most broadcasts
 * reach the shader as rank 1-3 (each axis costs an integer division per element).
 */
function collapse(shape: number[], sa: number[], sb: number[]): { shape: number[]; sa: number[]; sb: number[] } {
  const s: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && a[last] === sa[i] * shape[i] && b[last] === sb[i] * shape[i]) {
      s[last] *= shape[i];
      a[last] = sa[i];
      b[last] = sb[i];
    } else {
      s.push(shape[i]);
      a.push(sa[i]);
      b.push(sb[i]);
    }
  }
  // Pad at the front: the shader peels axis 5 (fastest) first.
  while (s.length < MAX_RANK) {
    s.unshift(1);
    a.unshift(0);
    b.unshift(0);
  }
  return { shape: s, sa: a, sb: b };
}

// a: broadcastable with b -> c: the broadcast shape
export function binary(e: Engine, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return binaryImpl(e, op, a, b, false);
}

function binaryImpl(e: Engine, op: BinaryOp, a: Tensor, b: Tensor, reluOut: boolean): Tensor {
  const kernel = reluOut ? 'elementwise.addRelu' : `elementwise.${op}`;
  assertF32Pair(kernel, a, b);
  if (a.rank > MAX_RANK || b.rank > MAX_RANK) {
    throw new KernelInputError(
      `${kernel}: ranks above ${MAX_RANK} are not supported, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  const outShape = broadcastShapes(kernel, a.shape, b.shape);
  const c = e.empty(outShape, 'f32', `${kernel}.out`);
  const constants = { WG, OP: binaryId(op), RELU_OUT: reluOut ? 1 : 0 };
  const n = c.size;
  const dispatch = (entry: string, bindings: Record<string, Tensor>, threads: number, p = params(threads)) =>
    e.dispatch({ kernel: elementwise, entry, bindings, params: p, workgroups: grid1d(threads, WG), constants });
  if (a.size === n && b.size === n) {
    if (n % 4 === 0) dispatch('binary_flat4', { a4: a, b4: b, c4: c }, n / 4);
    else dispatch('binary_flat', { a, b, c }, n);
    return c;
  }
  const g = collapse(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
  // After collapsing, the innermost axis has stride 1 in an input that spans it and 0 in one broadcast
  // along it; when it is a multiple of 4 long, four outputs share every other coordinate.
  if (g.shape[MAX_RANK - 1] % 4 === 0) {
    const aVec = g.sa[MAX_RANK - 1] === 1;
    const bVec = g.sb[MAX_RANK - 1] === 1;
    const p = bcastParams(n / 4, g);
    if (aVec && bVec) dispatch('binary_bcast4_vv', { a4: a, b4: b, c4: c }, n / 4, p);
    else if (aVec) dispatch('binary_bcast4_vs', { a4: a, b, c4: c }, n / 4, p);
    else dispatch('binary_bcast4_sv', { a, b4: b, c4: c }, n / 4, p);
  } else {
    dispatch('binary_bcast', { a, b, c }, n, bcastParams(n, g));
  }
  return c;
}

export const add = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'add', a, b);
export const sub = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'sub', a, b);
export const mul = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'mul', a, b);
export const div = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'div', a, b);
export const maximum = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'max', a, b);
export const minimum = (e: Engine, a: Tensor, b: Tensor): Tensor => binary(e, 'min', a, b);

// a, b: same shape -> relu(a + b): the residual join, one pass instead of two
export function addRelu(e: Engine, a: Tensor, b: Tensor): Tensor {
  assertSameShape('elementwise.addRelu', ['a', a], ['b', b]);
  return binaryImpl(e, 'add', a, b, true);
}

// acc += b, same shape; acc is overwritten (gradient accumulation where a branch joins)
export function addInPlace(e: Engine, acc: Tensor, b: Tensor): void {
  assertF32Pair('elementwise.addInPlace', acc, b);
  assertSameShape('elementwise.addInPlace', ['acc', acc], ['b', b]);
  if (acc.storage === b.storage)
    throw new KernelInputError(`elementwise.addInPlace: acc and b ${formatShape(b.shape)} share storage; use affine(x, 2)`);
  const n = acc.size;
  if (n % 4 === 0) {
    e.dispatch({
      kernel: elementwise,
      entry: 'add_inplace4',
      bindings: { c4: acc, b4: b },
      params: params(n / 4),
      workgroups: grid1d(n / 4, WG),
      constants: { WG },
    });
  } else {
    e.dispatch({
      kernel: elementwise,
      entry: 'add_inplace',
      bindings: { c: acc, b },
      params: params(n),
      workgroups: grid1d(n, WG),
      constants: { WG },
    });
  }
}

function map(e: Engine, kernel: string, x: Tensor, id: number, f0 = 0, f1 = 0): Tensor {
  assertDType(kernel, 'x', x, 'f32');
  const y = e.empty(x.shape, 'f32', `${kernel}.out`);
  const constants = { WG, MAP: id };
  const n = x.size;
  if (n % 4 === 0) {
    e.dispatch({
      kernel: elementwise,
      entry: 'map4',
      bindings: { x4: x, y4: y },
      params: params(n / 4, f0, f1),
      workgroups: grid1d(n / 4, WG),
      constants,
    });
  } else {
    e.dispatch({
      kernel: elementwise,
      entry: 'map',
      bindings: { x, y },
      params: params(n, f0, f1),
      workgroups: grid1d(n, WG),
      constants,
    });
  }
  return y;
}

function assertFinite(kernel: string, what: Record<string, number>): void {
  for (const [k, v] of Object.entries(what)) {
    if (!Number.isFinite(v)) throw new KernelInputError(`${kernel}: ${k} must be a finite number, got ${v}`);
  }
}

// x -> y = f(x), same shape
export function unary(e: Engine, op: UnaryOp, x: Tensor): Tensor {
  if (!(UNARY_OPS as readonly string[]).includes(op))
    throw new KernelInputError(`elementwise.unary: unknown op "${op}"; one of ${UNARY_OPS.join(', ')}`);
  return map(e, `elementwise.${op}`, x, mapId(op));
}

// x -> x * scale + shift
export function affine(e: Engine, x: Tensor, scale: number, shift = 0): Tensor {
  assertFinite('elementwise.affine', { scale, shift });
  return map(e, 'elementwise.affine', x, mapId('affine'), scale, shift);
}

// x -> x^p (PyTorch semantics: 0^0 = 1; a negative base only for integer p)
export function pow(e: Engine, x: Tensor, p: number): Tensor {
  assertFinite('elementwise.pow', { p });
  return map(e, 'elementwise.pow', x, mapId('pow'), p);
}

// x -> min(max(x, lo), hi)
export function clamp(e: Engine, x: Tensor, lo: number, hi: number): Tensor {
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi)
    throw new KernelInputError(`elementwise.clamp: need lo <= hi, got lo=${lo} hi=${hi}`);
  return map(e, 'elementwise.clamp', x, mapId('clamp'), Math.max(lo, -3.4028234663852886e38), Math.min(hi, 3.4028234663852886e38));
}

// t := value everywhere (in place)
export function fill(e: Engine, t: Tensor, value: number): void {
  assertDType('elementwise.fill', 't', t, 'f32');
  const n = t.size;
  if (n % 4 === 0) {
    e.dispatch({
      kernel: elementwise,
      entry: 'fill4',
      bindings: { y4: t },
      params: params(n / 4, value),
      workgroups: grid1d(n / 4, WG),
      constants: { WG },
    });
  } else {
    e.dispatch({
      kernel: elementwise,
      entry: 'fill',
      bindings: { y: t },
      params: params(n, value),
      workgroups: grid1d(n, WG),
      constants: { WG },
    });
  }
}

/**
 * t[indices[j]] := values[j] (flat indices, in place), e.g. injecting a gradient at one neuron.
 * A scatter kernel rather than `engine.write`, so it queues behind earlier work without a submit.
 * A repeated index takes its last value.
 */
export const fillAt = scoped(function fillAt(e: Engine, t: Tensor, indices: number[], values: number[]): void {
  const kernel = 'elementwise.fillAt';
  assertDType(kernel, 't', t, 'f32');
  if (indices.length !== values.length) {
    throw new KernelInputError(`${kernel}: ${indices.length} indices but ${values.length} values for tensor ${formatShape(t.shape)}`);
  }
  const last = new Map<number, number>();
  indices.forEach((i, j) => {
    if (!Number.isInteger(i) || i < 0 || i >= t.size) {
      throw new KernelInputError(`${kernel}: index ${i} is outside tensor ${formatShape(t.shape)} (${t.size} elements, flat indices)`);
    }
    last.set(i, values[j]);
  });
  if (last.size === 0) return;
  const packed = new Uint32Array(2 * last.size);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let j = 0;
  for (const [i, v] of last) {
    f[0] = v;
    packed[2 * j] = i;
    packed[2 * j + 1] = u[0];
    j++;
  }
  const pairs = e.upload(packed, [packed.length], 'elementwise.fillAt.pairs');
  e.dispatch({
    kernel: elementwise,
    entry: 'fill_at',
    bindings: { y: t, pairs },
    params: params(last.size),
    workgroups: grid1d(last.size, WG),
    constants: { WG },
  });
  // Safe before the dispatch runs: the pool recycles a buffer only after the submit that uses it.
  e.release(pairs);
});
