import source from '../../shaders/reduce.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel, wgslEnum } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';
import { scoped } from '../gpu/scopes.js';

const reduceKernel = defineKernel('reduce', source);
/** Invocations per workgroup: reduce.wgsl's `const WG`, which also sizes its workgroup arrays. */
const wg = () => reduceKernel.reflection.constants.get('WG')!;
/** Elements one workgroup reduces in the `rows` pass; longer rows get a second pass over partials. */
const ROW_CHUNK = 4096;
/**
 * Below this row length one invocation per output (serial over the row) beats a workgroup per row:
 * on lavapipe each workgroup barrier is expensive, so a tree reduction pays only on long rows.
 */
const ROWS_MIN_LEN = 1024;
/** `cols` splits a long axis into chunks when there are too few outputs to keep the device busy. */
const COL_CHUNK = 256;
const COL_SPLIT_LEN = 1024;
const COL_SPLIT_OUTPUTS = 16384;

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';
const KERNEL_OPS = ['sum', 'max', 'min'] as const;
type KernelOp = (typeof KERNEL_OPS)[number];
const opId = wgslEnum(reduceKernel, 'OP_', KERNEL_OPS);

/** x viewed as (outer, len, inner) with the reduced axes in the middle. */
interface View {
  outer: number;
  len: number;
  inner: number;
  /** Shape after reduction. */
  kept: number[];
  keptDims: number[];
}

function viewOf(kernel: string, x: Tensor, axes: readonly number[]): View {
  const rank = x.rank;
  if (axes.length === 0) throw new KernelInputError(`${kernel}: no axes given for x ${formatShape(x.shape)}`);
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  for (let i = 0; i < norm.length; i++) {
    if (!Number.isInteger(norm[i]) || norm[i] < 0 || norm[i] >= rank) {
      throw new KernelInputError(`${kernel}: axis ${axes[i]} is out of range for x ${formatShape(x.shape)} (rank ${rank})`);
    }
    if (i > 0 && norm[i] !== norm[i - 1] + 1) {
      throw new KernelInputError(
        `${kernel}: axes [${axes.join(', ')}] must be contiguous and increasing for x ${formatShape(x.shape)} (e.g. [2, 3] for H, W)`,
      );
    }
  }
  const first = norm[0];
  const last = norm[norm.length - 1];
  const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  const kept = [...x.shape.slice(0, first), ...x.shape.slice(last + 1)];
  const keptDims = x.shape.map((d, i) => (i >= first && i <= last ? 1 : d));
  return {
    outer: prod(x.shape.slice(0, first)),
    len: prod(x.shape.slice(first, last + 1)),
    inner: prod(x.shape.slice(last + 1)),
    kept: kept.length ? kept : [1],
    keptDims,
  };
}

/** Exposed so tests can reach the folded-grid path with small tensors. */
export const reduceTuning = { maxGroupsPerDim: 65535 };

/** Workgroups for `count` independent workgroup jobs, folded into y past the per-dimension limit. */
function foldedGroups(count: number): [number, number, number] {
  const max = reduceTuning.maxGroupsPerDim;
  if (count <= max) return [count, 1, 1];
  return [max, Math.ceil(count / max), 1];
}

/**
 * x: (outer, len, inner) flat -> (outer, inner) flat. Long rows reduce in chunks, then the partials
 * (outer, nchunks, inner) are reduced again, so any length works and every pass keeps the device busy.
 */
function reduceView(e: Engine, op: KernelOp, x: Tensor, outer: number, len: number, inner: number, scale: number): Tensor {
  const constants = { OP: opId(op) };
  if (inner === 1 && len >= ROWS_MIN_LEN) {
    const nchunks = Math.ceil(len / ROW_CHUNK);
    const out = e.empty([outer * nchunks], 'f32', `reduce.${op}.partial`);
    const params = { outer, len, inner: 1, chunk: ROW_CHUNK, nchunks, scale: nchunks === 1 ? scale : 1 };
    e.dispatch({ kernel: reduceKernel, entry: 'rows', bindings: { x, out }, params, workgroups: foldedGroups(outer * nchunks), constants });
    if (nchunks === 1) return out;
    const next = reduceView(e, op, out, outer, nchunks, 1, scale);
    e.release(out);
    return next;
  }
  const split = len > COL_SPLIT_LEN && outer * inner < COL_SPLIT_OUTPUTS;
  const chunk = split ? COL_CHUNK : len;
  const nchunks = Math.ceil(len / chunk);
  const n = outer * nchunks * inner;
  const out = e.empty([n], 'f32', `reduce.${op}.partial`);
  const params = { outer, len, inner, chunk, nchunks, scale: nchunks === 1 ? scale : 1 };
  e.dispatch({ kernel: reduceKernel, entry: 'cols', bindings: { x, out }, params, workgroups: grid1d(n, wg()), constants });
  if (nchunks === 1) return out;
  const next = reduceView(e, op, out, outer, nchunks, inner, scale);
  e.release(out);
  return next;
}

// x: (..., A_i..A_j, ...) with axes i..j contiguous -> y: the other axes (axes kept as 1 with keepDims)
export const reduce = scoped(function reduce(e: Engine, op: ReduceOp, x: Tensor, axes: number[], keepDims: boolean = false): Tensor {
  const kernel = `reduce.${op}`;
  if (!['sum', 'mean', 'max', 'min'].includes(op)) throw new KernelInputError(`reduce: unknown op "${op}"; one of sum, mean, max, min`);
  assertDType(kernel, 'x', x, 'f32');
  const v = viewOf(kernel, x, axes);
  const y = reduceView(e, op === 'mean' ? 'sum' : op, x, v.outer, v.len, v.inner, op === 'mean' ? 1 / v.len : 1);
  return y.reshape(keepDims ? v.keptDims : v.kept);
});

// x: (..., A, ...) -> i32 index along `axis` of the first maximum, that axis removed
export function argmax(e: Engine, x: Tensor, axis: number): Tensor {
  const kernel = 'reduce.argmax';
  assertDType(kernel, 'x', x, 'f32');
  const v = viewOf(kernel, x, [axis]);
  const idx = e.empty(v.kept, 'i32', 'reduce.argmax.out');
  const params = { outer: v.outer, len: v.len, inner: v.inner, chunk: v.len, nchunks: 1, scale: 1 };
  if (v.inner === 1 && v.len >= ROWS_MIN_LEN) {
    e.dispatch({ kernel: reduceKernel, entry: 'argmax_rows', bindings: { x, idx }, params, workgroups: foldedGroups(v.outer) });
  } else {
    e.dispatch({ kernel: reduceKernel, entry: 'argmax_cols', bindings: { x, idx }, params, workgroups: grid1d(v.outer * v.inner, wg()) });
  }
  return idx;
}

/**
 * M -> (M - min) / (max - min + 1e-7) per slice, min and max taken over `axes` (docs/design.md's minmax).
 * An all-constant slice becomes all zeros, never NaN. Same shape as x.
 */
export const minmaxNormalize = scoped(function minmaxNormalize(e: Engine, x: Tensor, axes: number[]): Tensor {
  const kernel = 'reduce.minmaxNormalize';
  assertDType(kernel, 'x', x, 'f32');
  const v = viewOf(kernel, x, axes);
  const lo = reduceView(e, 'min', x, v.outer, v.len, v.inner, 1);
  const hi = reduceView(e, 'max', x, v.outer, v.len, v.inner, 1);
  const out = e.empty(x.shape, 'f32', `${kernel}.out`);
  const params = { outer: v.outer, len: v.len, inner: v.inner, chunk: v.len, nchunks: 1, scale: 1 };
  e.dispatch({ kernel: reduceKernel, entry: 'minmax_apply', bindings: { x, lo, hi, out }, params, workgroups: grid1d(x.size, wg()) });
  e.releaseAll(lo, hi);
  return out;
});

// a, b: same shape -> (1): sum(a * b)
export const dot = scoped(function dot(e: Engine, a: Tensor, b: Tensor): Tensor {
  const kernel = 'reduce.dot';
  if (a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new KernelInputError(
      `${kernel}: dtype mismatch, a is ${a.dtype} ${formatShape(a.shape)} and b is ${b.dtype} ${formatShape(b.shape)}; both must be f32`,
    );
  }
  assertSameShape(kernel, ['a', a], ['b', b]);
  const n = a.size;
  const nchunks = Math.ceil(n / ROW_CHUNK);
  const out = e.empty([nchunks], 'f32', `${kernel}.partial`);
  const params = { outer: 1, len: n, inner: 1, chunk: ROW_CHUNK, nchunks, scale: 1 };
  e.dispatch({ kernel: reduceKernel, entry: 'dot_rows', bindings: { x: a, b, out }, params, workgroups: foldedGroups(nchunks) });
  if (nchunks === 1) return out;
  const total = reduceView(e, 'sum', out, 1, nchunks, 1, 1);
  e.release(out);
  return total;
});

/** Bytes a reduction over x reads and writes (for GB/s in benchmarks). */
export function reduceBytes(inputElements: number, outputElements: number): number {
  return 4 * (inputElements + outputElements);
}
