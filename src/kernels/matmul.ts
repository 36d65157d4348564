import source from '../../shaders/matmul.wgsl?raw';
import subgroupSource from '../../shaders/matmul_subgroup.wgsl?raw';
import { capabilities, variantRuns, type Capabilities, type KernelVariant } from '../gpu/capabilities.js';
import type { Engine } from '../gpu/engine.js';
import { formatShape, GpuLimitError, KernelInputError } from '../gpu/errors.js';
import { defineKernel, type Kernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { scoped } from '../gpu/scopes.js';

const plainKernel = defineKernel('matmul', source);
const subgroupKernel = defineKernel('matmul_subgroup', subgroupSource);

/**
 * The matmul kernel families, in the engine's variant vocabulary (src/gpu/capabilities.ts, docs/adapter.md):
 *  - 'subgroup': software adapters with usable subgroups; loads are the cost there and subgroup
 *    broadcasts nearly free.
 *  - 'register': register-tiled with vec4 loads and no subgroups or workgroup memory.
 *  - 'shared': workgroup-memory tiles for real GPUs, and vector kernels for up to 4 rows (a linear layer
 *    at small batch), which a 64-row tile would leave nearly idle.
 * Unaligned layouts (odd K or N, transposed A) fall back to the general `reg` kernel in every family
 * except 'shared', which takes any strides.
 */
export type MatmulVariant = Exclude<KernelVariant, 'direct'>;

/** The family this device runs (the policy every kernel family shares). */
export function matmulVariantFor(caps: Capabilities): MatmulVariant {
  return caps.preferredVariant;
}

export function selectMatmulVariant(e: Engine): MatmulVariant {
  return matmulVariantFor(capabilities(e));
}

/** Whether this device can run a family; the subgroup kernels need subgroups of at least 8 lanes. */
export function matmulVariantSupported(e: Engine, variant: MatmulVariant): boolean {
  return variantRuns(capabilities(e), variant);
}

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  /** Force a kernel family (tests and benchmarks); default `selectMatmulVariant(e)`. */
  variant?: MatmulVariant;
}

// ---------------------------------------------------------------- the one dispatch path

/** A logical matrix inside a tensor: element (r, c) of batch z at off + z*bs + r*rs + c*cs. */
interface View {
  t: Tensor;
  off: number;
  rs: number;
  cs: number;
  bs: number;
}

interface Gemm {
  /** Names the public op in errors. */
  op: string;
  M: number;
  N: number;
  K: number;
  batch: number;
  a: View; // (M, K)
  b: View; // (K, N)
  c: { t: Tensor; off: number; rs: number; bs: number }; // (M, N), unit column stride
  bias: { t: Tensor; off: number } | null;
  relu: boolean;
  accumulate: boolean;
  variant: MatmulVariant;
}

interface Plan {
  kernel: Kernel;
  entry: string;
  /** Binding names for A, B and C in that entry. */
  names: [string, string, string];
  tile: [number, number]; // columns, rows per workgroup
  /** reg* entries: log2 of the invocation rows per workgroup. */
  wyLog2?: number;
}

// Epilogue bits of Params.flags (matmul.wgsl).
const FLAG_BIAS = 1;
const FLAG_ACCUMULATE = 2;
const FLAG_RELU = 4;

/** Rows of A up to which the shared family multiplies by a vector kernel (gemv, vecmat) instead of tiles. */
const GEMV_MAX_ROWS = 4;

const vec4Aligned = (...xs: number[]) => xs.every((x) => x % 4 === 0);

function plan(g: Gemm): Plan {
  const { a, b, c, M, N, K, batch } = g;
  // Strides that never vary (a single row, a single batch) do not need alignment.
  const aRows = M > 1 ? a.rs : 0;
  const batchStrides = (s: number) => (batch > 1 ? s : 0);
  const aK4 = a.cs === 1 && vec4Aligned(K, a.off, aRows, batchStrides(a.bs));
  const bN4 = b.cs === 1 && vec4Aligned(N, b.off, b.rs, batchStrides(b.bs)) && vec4Aligned(c.off, c.rs, batchStrides(c.bs));
  const bK4 = b.rs === 1 && vec4Aligned(K, b.off, b.cs, batchStrides(b.bs));
  // reg* workgroups: 64 invocations of 4 rows each, with only as many rows of invocations as M fills
  // (see matmul.wgsl): 64 x 1 for a batch-1 linear layer, 32 x 2 for batch 8, 8 x 8 from M = 17.
  const wyLog2 = Math.min(3, Math.ceil(Math.log2(Math.ceil(M / 4))));
  const regPlan = (entry: string, names: Plan['names'], colsPerInvocation: number): Plan => ({
    kernel: plainKernel,
    entry,
    names,
    tile: [(64 >> wyLog2) * colsPerInvocation, (1 << wyLog2) * 4],
    wyLog2,
  });
  const reg = regPlan('reg', ['a', 'b', 'c'], 4);
  switch (g.variant) {
    case 'subgroup':
      if (bN4 && aK4 && M === 1) return { kernel: subgroupKernel, entry: 'vecmat', names: ['a4', 'b4', 'c4'], tile: [128, 1] };
      if (bN4 && aK4) return { kernel: subgroupKernel, entry: 'nn', names: ['a4', 'b4', 'c4'], tile: [32, 16] };
      if (bN4) return { kernel: subgroupKernel, entry: 'nn_sa', names: ['a', 'b4', 'c4'], tile: [32, 8] };
      if (bK4 && aK4)
        return { kernel: subgroupKernel, entry: M === 1 ? 'gemv' : 'nt', names: ['a4', 'b4', 'c'], tile: [8, M === 1 ? 1 : 8] };
      return reg;
    case 'register':
      if (bN4 && aK4) return regPlan('reg_nn4', ['a4', 'b4', 'c4'], 4);
      if (bK4 && aK4) return regPlan('reg_nt4', ['a4', 'b4', 'c'], 1);
      return reg;
    case 'shared':
      // A linear layer at batch <= 4: a 64-row tile would idle 60+ of its rows and read B in short runs.
      if (M <= GEMV_MAX_ROWS && bK4 && aK4) return { kernel: plainKernel, entry: 'gemv', names: ['a4', 'b4', 'c'], tile: [8, 4] };
      if (M <= GEMV_MAX_ROWS && bN4) return { kernel: plainKernel, entry: 'vecmat', names: ['a', 'b4', 'c4'], tile: [128, 4] };
      return { kernel: plainKernel, entry: 'tiled', names: ['a', 'b', 'c'], tile: [64, 64] };
    default:
      throw new KernelInputError(`${g.op}: unknown matmul variant "${g.variant as string}"; one of subgroup, register, shared`);
  }
}

function gemm(e: Engine, g: Gemm): void {
  if (!matmulVariantSupported(e, g.variant)) {
    throw new GpuLimitError(
      `${g.op}: the subgroup matmul kernels need subgroups of at least 8 lanes, which this adapter does not report; use variant 'register' or 'shared'`,
    );
  }
  const p = plan(g);
  const groups: [number, number, number] = [Math.ceil(g.N / p.tile[0]), Math.ceil(g.M / p.tile[1]), g.batch];
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  if (groups.some((d) => d > max)) {
    throw new GpuLimitError(
      `${g.op}: M=${g.M} N=${g.N} batch=${g.batch} needs workgroups [${groups.join(', ')}], over the per-dimension limit ${max}; split the problem`,
    );
  }
  const [an, bn, cn] = p.names;
  e.dispatch({
    kernel: p.kernel,
    entry: p.entry,
    // Without a bias the epilogue never reads `bias`, but the entry point still binds it: A stands in
    // (two read-only bindings of one buffer are allowed).
    bindings: { [an]: g.a.t, [bn]: g.b.t, [cn]: g.c.t, bias: g.bias?.t ?? g.a.t },
    params: {
      M: g.M,
      N: g.N,
      K: g.K,
      a_off: g.a.off,
      a_rs: g.a.rs,
      a_cs: g.a.cs,
      a_bs: g.a.bs,
      b_off: g.b.off,
      b_rs: g.b.rs,
      b_cs: g.b.cs,
      b_bs: g.b.bs,
      c_off: g.c.off,
      c_rs: g.c.rs,
      c_bs: g.c.bs,
      bias_off: g.bias?.off ?? 0,
      flags: (g.bias ? FLAG_BIAS : 0) | (g.accumulate ? FLAG_ACCUMULATE : 0) | (g.relu ? FLAG_RELU : 0),
      wy_log2: p.wyLog2 ?? 0,
    },
    workgroups: groups,
    op: g.op,
    variant: g.variant,
    flops: 2 * g.M * g.N * g.K * g.batch,
  });
}

/** Which kernel a matmul of this layout would run (benchmarks label their rows with it). */
export function matmulEntry(e: Engine, a: Tensor, b: Tensor, opts: MatmulOptions = {}): string {
  const g = matmulGemm(e, a, b, opts);
  return `${g.variant}:${plan({ ...g, c: { ...g.c, t: a } }).entry}`;
}

// ---------------------------------------------------------------- general matmul

function assertF32(op: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') {
    throw new KernelInputError(
      `${op}: dtype mismatch, ${names[0]} is ${a.dtype} ${formatShape(a.shape)} and ${names[1]} is ${b.dtype} ${formatShape(b.shape)}; both must be f32`,
    );
  }
}

/** The validated problem; `c.t` is still to be allocated (shape `outShape`). */
function matmulGemm(
  e: Engine,
  a: Tensor,
  b: Tensor,
  opts: MatmulOptions,
): Omit<Gemm, 'c'> & { c: Omit<Gemm['c'], 't'>; outShape: number[] } {
  const op = 'matmul';
  assertF32(op, a, b);
  const ta = opts.transposeA ?? false;
  const tb = opts.transposeB ?? false;
  for (const [name, t] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (t.rank !== 2 && t.rank !== 3)
      throw new KernelInputError(`${op}: ${name} must have rank 2 or 3 (batched), got ${formatShape(t.shape)}`);
  }
  const mat = (t: Tensor) => t.shape.slice(-2) as [number, number];
  const [ar, ac] = mat(a);
  const [br, bc] = mat(b);
  const [M, K] = ta ? [ac, ar] : [ar, ac];
  const [Kb, N] = tb ? [bc, br] : [br, bc];
  const desc = () => `a ${formatShape(a.shape)}${ta ? ' (transposed)' : ''} and b ${formatShape(b.shape)}${tb ? ' (transposed)' : ''}`;
  if (K !== Kb) throw new KernelInputError(`${op}: inner dimensions differ for ${desc()}: K=${K} vs ${Kb}`);
  const ba = a.rank === 3 ? a.shape[0] : 1;
  const bb = b.rank === 3 ? b.shape[0] : 1;
  if (ba !== bb && ba !== 1 && bb !== 1) throw new KernelInputError(`${op}: batch sizes ${ba} and ${bb} differ for ${desc()}`);
  const batch = Math.max(ba, bb);
  const rank3 = a.rank === 3 || b.rank === 3;
  return {
    op,
    outShape: rank3 ? [batch, M, N] : [M, N],
    M,
    N,
    K,
    batch,
    a: { t: a, off: 0, rs: ta ? 1 : K, cs: ta ? M : 1, bs: ba > 1 ? M * K : 0 },
    b: { t: b, off: 0, rs: tb ? 1 : N, cs: tb ? K : 1, bs: bb > 1 ? K * N : 0 },
    c: { off: 0, rs: N, bs: M * N },
    bias: null,
    relu: false,
    accumulate: false,
    variant: opts.variant ?? selectMatmulVariant(e),
  };
}

// a: (M, K) or (B, M, K), b: (K, N) or (B, K, N) (either transposed by the options) -> (M, N) or (B, M, N).
// A rank-2 operand is shared by every batch.
export const matmul = scoped(function matmul(e: Engine, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const g = matmulGemm(e, a, b, opts);
  const c = e.empty(g.outShape, 'f32', 'matmul.out');
  try {
    gemm(e, { ...g, c: { ...g.c, t: c } });
  } catch (err) {
    e.release(c);
    throw err;
  }
  return c;
});

export function matmulFlops(M: number, N: number, K: number): number {
  return 2 * M * N * K;
}

/** Bytes a matmul must move at least once: both operands and the result. */
export function matmulBytes(M: number, N: number, K: number): number {
  return 4 * (M * K + K * N + M * N);
}

// ---------------------------------------------------------------- linear layers

/**
 * A linear weight (M, K) in PyTorch layout, split into row blocks so each binding stays under
 * `maxStorageBufferBindingSize` (VGG-16's fc6 is 4096 x 25088 fp32 = 392 MiB).
 */
export interface LinearWeight {
  rows: number;
  cols: number;
  chunks: Tensor[];
  rowsPerChunk: number;
}

/**
 * `maxChunkBytes` defaults to the engine's binding limit (`Engine.maxBindingBytes`); tests pass a small
 * value to exercise the split. Row blocks start at multiples of 8 rows where possible, so the vectorised
 * kernels can read the matching column block of dy in the backward pass.
 */
export function uploadLinearWeight(
  e: Engine,
  data: Float32Array,
  rows: number,
  cols: number,
  label = 'linear.weight',
  maxChunkBytes = e.maxBindingBytes,
): LinearWeight {
  const op = 'uploadLinearWeight';
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new KernelInputError(`${op}: ${label} shape [${rows}, ${cols}] must be positive integers`);
  }
  if (data.length !== rows * cols) throw new KernelInputError(`${op}: ${label} has ${data.length} values for shape [${rows}, ${cols}]`);
  const fit = Math.floor(maxChunkBytes / (cols * 4));
  if (fit < 1) {
    throw new GpuLimitError(
      `${op}: one row of ${label} [${rows}, ${cols}] is ${cols * 4} bytes, over the binding limit of ${maxChunkBytes} bytes`,
    );
  }
  const rowsPerChunk = fit >= rows ? rows : fit >= 8 ? fit - (fit % 8) : fit;
  const chunks: Tensor[] = [];
  try {
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      chunks.push(e.upload(data.subarray(r0 * cols, r1 * cols), [r1 - r0, cols], `${label}[${r0}:${r1}]`));
    }
  } catch (err) {
    e.releaseAll(...chunks);
    throw err;
  }
  return { rows, cols, chunks, rowsPerChunk };
}

export function releaseLinearWeight(e: Engine, w: LinearWeight): void {
  e.releaseAll(...w.chunks);
}

function assertLinear(op: string, x: Tensor, xName: string, width: number, widthName: string, w: LinearWeight): void {
  if (x.dtype !== 'f32') throw new KernelInputError(`${op}: ${xName} must be f32, got ${x.dtype} ${formatShape(x.shape)}`);
  if (x.rank !== 2)
    throw new KernelInputError(`${op}: ${xName} must be (N, ${widthName}) = (N, ${width}), got ${formatShape(x.shape)}; reshape first`);
  if (x.shape[1] !== width) {
    throw new KernelInputError(
      `${op}: ${xName} ${formatShape(x.shape)} does not match weight [${w.rows}, ${w.cols}]: expected ${widthName}=${width}, got ${x.shape[1]}`,
    );
  }
}

// x: (N, K), w: (M, K), bias: (M) or null -> y: (N, M) = x @ w^T + bias, ReLU fused when asked
export const linearForward = scoped(function linearForward(
  e: Engine,
  x: Tensor,
  w: LinearWeight,
  bias: Tensor | null,
  opts: { relu?: boolean; variant?: MatmulVariant } = {},
): Tensor {
  const op = 'linearForward';
  assertLinear(op, x, 'x', w.cols, 'K', w);
  if (bias && (bias.dtype !== 'f32' || bias.rank !== 1 || bias.shape[0] !== w.rows)) {
    throw new KernelInputError(
      `${op}: bias must be f32 (${w.rows}) for weight [${w.rows}, ${w.cols}], got ${bias.dtype} ${formatShape(bias.shape)}`,
    );
  }
  const N = x.shape[0];
  const { rows: M, cols: K } = w;
  const y = e.empty([N, M], 'f32', 'linear.y');
  const variant = opts.variant ?? selectMatmulVariant(e);
  try {
    // Each row block of w fills a column block of y.
    w.chunks.forEach((chunk, i) => {
      const r0 = i * w.rowsPerChunk;
      gemm(e, {
        op,
        M: N,
        N: chunk.shape[0],
        K,
        batch: 1,
        a: { t: x, off: 0, rs: K, cs: 1, bs: 0 },
        b: { t: chunk, off: 0, rs: 1, cs: K, bs: 0 },
        c: { t: y, off: r0, rs: M, bs: 0 },
        bias: bias ? { t: bias, off: r0 } : null,
        relu: opts.relu ?? false,
        accumulate: false,
        variant,
      });
    });
  } catch (err) {
    e.release(y);
    throw err;
  }
  return y;
});

// dy: (N, M), w: (M, K) -> dx: (N, K) = dy @ w
export const linearBackwardInput = scoped(function linearBackwardInput(
  e: Engine,
  dy: Tensor,
  w: LinearWeight,
  opts: { variant?: MatmulVariant } = {},
): Tensor {
  const op = 'linearBackwardInput';
  assertLinear(op, dy, 'dy', w.rows, 'M', w);
  const N = dy.shape[0];
  const { rows: M, cols: K } = w;
  const dx = e.empty([N, K], 'f32', 'linear.dx');
  const variant = opts.variant ?? selectMatmulVariant(e);
  try {
    // Row blocks of w split the contraction: dx = sum over blocks of dy[:, block] @ w[block].
    w.chunks.forEach((chunk, i) => {
      gemm(e, {
        op,
        M: N,
        N: K,
        K: chunk.shape[0],
        batch: 1,
        a: { t: dy, off: i * w.rowsPerChunk, rs: M, cs: 1, bs: 0 },
        b: { t: chunk, off: 0, rs: K, cs: 1, bs: 0 },
        c: { t: dx, off: 0, rs: K, bs: 0 },
        bias: null,
        relu: false,
        accumulate: i > 0,
        variant,
      });
    });
  } catch (err) {
    e.release(dx);
    throw err;
  }
  return dx;
});

// x: (N, K), dy: (N, M) -> dW: (M, K) = dy^T @ x, one tensor (small layers; fc6's would exceed a binding)
export function linearBackwardWeight(e: Engine, x: Tensor, dy: Tensor, opts: { variant?: MatmulVariant } = {}): Tensor {
  const op = 'linearBackwardWeight';
  assertF32(op, x, dy, ['x', 'dy']);
  if (x.rank !== 2 || dy.rank !== 2 || x.shape[0] !== dy.shape[0]) {
    throw new KernelInputError(
      `${op}: x must be (N, K) and dy (N, M) with the same N, got x ${formatShape(x.shape)} and dy ${formatShape(dy.shape)}`,
    );
  }
  return matmul(e, dy, x, { transposeA: true, variant: opts.variant });
}
