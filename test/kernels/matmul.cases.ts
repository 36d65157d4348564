import type { Engine } from '../../src/gpu/engine.js';
import {
  linearBackwardInput,
  linearBackwardWeight,
  linearForward,
  matmul,
  matmulEntry,
  matmulVariantSupported,
  releaseLinearWeight,
  selectMatmulVariant,
  uploadLinearWeight,
  type MatmulVariant,
} from '../../src/kernels/matmul.js';
import { linearRef, matmulRef } from '../reference/matmul.js';
import { compareClose, expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const VARIANTS: MatmulVariant[] = ['subgroup', 'register', 'shared'];

/** The subgroup kernels need subgroups of >= 8 lanes; elsewhere the case checks they are never chosen. */
function unsupported(e: Engine, variant: MatmulVariant): boolean {
  if (matmulVariantSupported(e, variant)) return false;
  if (selectMatmulVariant(e) === variant) throw new Error(`${variant} variant selected on an adapter that cannot run it`);
  return true;
}

/** fp32 accumulation against float64: the error grows like sqrt(K). */
const tol = (K: number) => ({ atol: 2e-6 * Math.sqrt(K) + 1e-6, rtol: 1e-5 });

interface Problem {
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

function describe(p: Problem): string {
  return `${JSON.stringify(p.a)}${p.transposeA ? 'T' : ''} @ ${JSON.stringify(p.b)}${p.transposeB ? 'T' : ''}`;
}

async function checkMatmul(e: Engine, variant: MatmulVariant, p: Problem, seed: number): Promise<Float32Array | null> {
  if (unsupported(e, variant)) return null;
  const a = randomArray(size(p.a), seed);
  const b = randomArray(size(p.b), seed + 1);
  const at = e.upload(a, p.a);
  const bt = e.upload(b, p.b);
  const opts = { transposeA: p.transposeA, transposeB: p.transposeB, variant };
  const c = matmul(e, at, bt, opts);
  const ref = matmulRef(a, p.a, b, p.b, opts);
  if (c.shape.join() !== ref.shape.join())
    throw new Error(`matmul shape ${JSON.stringify(c.shape)}, expected ${JSON.stringify(ref.shape)}`);
  const K = p.transposeA ? p.a[p.a.length - 2] : p.a[p.a.length - 1];
  const got = await c.readF32();
  expectClose(got, ref.data, { ...tol(K), shape: ref.shape, what: `matmul ${variant} (${matmulEntry(e, at, bt, opts)}) ${describe(p)}` });
  e.releaseAll(at, bt, c);
  return got;
}

// Odd M/N/K (1, 3, 17, 129), vec4-aligned shapes (the fast paths), transposes, batches (shared
// operand too) and sizes past one workgroup in every dimension.
const PROBLEMS: Problem[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [3, 129], b: [129, 17] },
  { a: [17, 3], b: [3, 129] },
  { a: [129, 17], b: [17, 3] },
  { a: [1, 17], b: [17, 129] },
  { a: [17, 129], b: [129, 1] },
  { a: [8, 16], b: [16, 32] },
  { a: [33, 36], b: [36, 64] },
  { a: [1, 256], b: [256, 128] },
  { a: [1, 36], b: [36, 44] },
  { a: [70, 132], b: [132, 260] },
  { a: [17, 3], b: [17, 129], transposeA: true },
  { a: [36, 33], b: [36, 64], transposeA: true },
  { a: [3, 129], b: [17, 129], transposeB: true },
  { a: [9, 36], b: [20, 36], transposeB: true },
  { a: [1, 260], b: [37, 260], transposeB: true },
  { a: [1, 20], b: [5, 20], transposeB: true },
  { a: [129, 17], b: [3, 129], transposeA: true, transposeB: true },
  { a: [16, 12], b: [8, 16], transposeA: true, transposeB: true },
  { a: [3, 17, 20], b: [3, 20, 12] },
  { a: [3, 5, 7], b: [3, 7, 9] },
  { a: [4, 9, 16], b: [16, 8] },
  { a: [9, 16], b: [4, 16, 8] },
  { a: [2, 1, 24], b: [2, 6, 24], transposeB: true },
  { a: [3, 1, 40], b: [40, 12] },
  { a: [2, 24, 5], b: [1, 24, 8], transposeA: true },
  // The shared family's vector kernels (M <= 4): K past several 32-lane steps, N not a whole
  // workgroup, K split unevenly into slices or shorter than the slices, transposed and batched A.
  { a: [4, 1028], b: [45, 1028], transposeB: true },
  { a: [2, 3, 64], b: [2, 19, 64], transposeB: true },
  { a: [4, 300], b: [300, 260] },
  { a: [3, 2, 7], b: [7, 12] },
  { a: [20, 3], b: [20, 16], transposeA: true },
];

const plainMatmulCases: KernelCase[] = VARIANTS.flatMap((variant, vi) =>
  PROBLEMS.map<KernelCase>((p, pi) => ({
    name: `matmul ${variant} ${describe(p)}`,
    run: async (e) => void (await checkMatmul(e, variant, p, 1000 + 100 * vi + 2 * pi)),
  })),
);

const crossCases: KernelCase[] = [
  {
    // Kernel variants against each other (same inputs): a tighter check than against float64.
    name: 'matmul variants agree with each other (aligned, odd, transposed, batched)',
    async run(e) {
      for (const [pi, p] of (
        [
          { a: [96, 200], b: [200, 72] },
          { a: [37, 41], b: [41, 23] },
          { a: [40, 64], b: [24, 64], transposeB: true },
          { a: [2, 32, 20], b: [2, 32, 16], transposeA: true },
        ] as Problem[]
      ).entries()) {
        const results = new Map<MatmulVariant, Float32Array>();
        for (const v of VARIANTS) {
          const r = await checkMatmul(e, v, p, 2000 + pi);
          if (r) results.set(v, r);
        }
        const [first, ...rest] = [...results.entries()];
        for (const [v, r] of rest) {
          const cmp = compareClose(r, first[1], { atol: 1e-5, rtol: 1e-5, what: `${v} vs ${first[0]} ${describe(p)}` });
          if (!cmp.ok) throw new Error(cmp.message);
        }
      }
    },
  },
  {
    name: 'matmul plan: each layout reaches its kernel',
    async run(e) {
      const t = (shape: number[]) => e.empty(shape);
      const a = t([16, 32]);
      const b = t([32, 24]);
      const bt = t([24, 32]);
      const x1 = t([1, 32]);
      const odd = t([5, 7]);
      const oddB = t([7, 3]);
      const cases: [string, string][] = [
        [matmulEntry(e, a, b, { variant: 'subgroup' }), 'subgroup:nn'],
        [matmulEntry(e, b, b.reshape([32, 24]), { variant: 'subgroup', transposeA: true }), 'subgroup:nn_sa'],
        [matmulEntry(e, a, bt, { variant: 'subgroup', transposeB: true }), 'subgroup:nt'],
        [matmulEntry(e, x1, bt, { variant: 'subgroup', transposeB: true }), 'subgroup:gemv'],
        [matmulEntry(e, x1, b, { variant: 'subgroup' }), 'subgroup:vecmat'],
        [matmulEntry(e, odd, oddB, { variant: 'subgroup' }), 'subgroup:reg'],
        [matmulEntry(e, a, b, { variant: 'register' }), 'register:reg_nn4'],
        [matmulEntry(e, a, bt, { variant: 'register', transposeB: true }), 'register:reg_nt4'],
        [matmulEntry(e, odd, oddB, { variant: 'register' }), 'register:reg'],
        [matmulEntry(e, a, b, { variant: 'shared' }), 'shared:tiled'],
        [matmulEntry(e, x1, bt, { variant: 'shared', transposeB: true }), 'shared:gemv'],
        [matmulEntry(e, x1, b, { variant: 'shared' }), 'shared:vecmat'],
        [matmulEntry(e, odd.reshape([7, 5]), oddB, { variant: 'shared', transposeA: true }), 'shared:tiled'],
      ];
      e.releaseAll(a, b, bt, x1, odd, oddB);
      const wrong = cases.filter(([got, want]) => got !== want);
      if (wrong.length) throw new Error(`unexpected plans: ${wrong.map(([g, w]) => `${g} (want ${w})`).join(', ')}`);
    },
  },
];

// ---------------------------------------------------------------- linear

interface LinearProblem {
  N: number;
  M: number;
  K: number;
  /** Forces the weight into row blocks of at most this many bytes. */
  chunkBytes?: number;
  bias?: boolean;
  relu?: boolean;
}

const LINEAR: LinearProblem[] = [
  { N: 1, M: 10, K: 36, bias: true },
  { N: 3, M: 37, K: 17, bias: true, relu: true },
  { N: 8, M: 64, K: 256, relu: true },
  { N: 9, M: 13, K: 40, bias: true },
  { N: 1, M: 1000, K: 512, bias: true },
  // Several chunks: 8-row blocks (aligned), 5-row blocks (unaligned offsets), 1-row blocks.
  { N: 1, M: 37, K: 40, chunkBytes: 40 * 4 * 8, bias: true },
  { N: 4, M: 37, K: 40, chunkBytes: 40 * 4 * 8, bias: true, relu: true },
  { N: 3, M: 21, K: 36, chunkBytes: 36 * 4 * 5, bias: true },
  { N: 2, M: 6, K: 7, chunkBytes: 7 * 4, bias: true },
];

function linearName(p: LinearProblem): string {
  const blocks = p.chunkBytes ? ` in blocks of ${Math.floor(p.chunkBytes / (4 * p.K))} rows` : '';
  return `N=${p.N} K=${p.K} M=${p.M}${p.bias ? ' +bias' : ''}${p.relu ? ' relu' : ''}${blocks}`;
}

function expectedChunks(p: LinearProblem): number {
  if (!p.chunkBytes) return 1;
  const fit = Math.floor(p.chunkBytes / (4 * p.K));
  const rows = fit >= p.M ? p.M : fit >= 8 ? fit - (fit % 8) : fit;
  return Math.ceil(p.M / rows);
}

async function checkLinear(e: Engine, variant: MatmulVariant, p: LinearProblem, seed: number): Promise<void> {
  if (unsupported(e, variant)) return;
  const x = randomArray(p.N * p.K, seed);
  const w = randomArray(p.M * p.K, seed + 1);
  const bias = p.bias ? randomArray(p.M, seed + 2) : null;
  const dy = randomArray(p.N * p.M, seed + 3);
  const xt = e.upload(x, [p.N, p.K]);
  const wt = uploadLinearWeight(e, w, p.M, p.K, 'test.w', p.chunkBytes);
  if (wt.chunks.length !== expectedChunks(p)) throw new Error(`${wt.chunks.length} chunks, expected ${expectedChunks(p)}`);
  const bt = bias ? e.upload(bias, [p.M]) : null;
  const dyt = e.upload(dy, [p.N, p.M]);

  const y = linearForward(e, xt, wt, bt, { relu: p.relu, variant });
  expectClose(await y.readF32(), linearRef(x, p.N, p.K, w, p.M, bias, p.relu), {
    ...tol(p.K),
    shape: [p.N, p.M],
    what: `linear forward ${variant}`,
  });

  // dx = dy @ W: the reference is the matmul of the same matrices.
  const dx = linearBackwardInput(e, dyt, wt, { variant });
  const dxRef = matmulRef(dy, [p.N, p.M], w, [p.M, p.K]).data;
  expectClose(await dx.readF32(), dxRef, { ...tol(p.M), shape: [p.N, p.K], what: `linear backward input ${variant}` });

  const dw = linearBackwardWeight(e, xt, dyt, { variant });
  const dwRef = matmulRef(dy, [p.N, p.M], x, [p.N, p.K], { transposeA: true }).data;
  expectClose(await dw.readF32(), dwRef, { ...tol(p.N), shape: [p.M, p.K], what: `linear backward weight ${variant}` });

  releaseLinearWeight(e, wt);
  e.releaseAll(xt, bt, dyt, y, dx, dw);
}

const linearCases: KernelCase[] = VARIANTS.flatMap((variant, vi) =>
  LINEAR.map<KernelCase>((p, pi) => ({
    name: `linear ${variant} ${linearName(p)}`,
    run: (e) => checkLinear(e, variant, p, 3000 + 100 * vi + 4 * pi),
  })),
);

/**
 * Central differences in float64 of L(x, W) = sum(g * (x W^T + b)) on the CPU forward, against the
 * GPU backward kernels fed dy = g. Checks what the backward computes, not only that two codes agree.
 */
async function checkLinearFiniteDifferences(e: Engine, variant: MatmulVariant, chunkBytes?: number): Promise<void> {
  if (unsupported(e, variant)) return;
  const [N, M, K] = [3, 11, 12];
  const x = randomArray(N * K, 4000);
  const w = randomArray(M * K, 4001);
  const bias = randomArray(M, 4002);
  const g = randomArray(N * M, 4003);
  const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>) => {
    const y = linearRef(xv, N, K, wv, M, bias);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += g[i] * y[i];
    return s;
  };
  const h = 1e-3;
  const fd = (v: Float32Array, f: (p: Float64Array) => number) =>
    Float64Array.from(v, (_, i) => {
      const p = Float64Array.from(v);
      const m = Float64Array.from(v);
      p[i] += h;
      m[i] -= h;
      return (f(p) - f(m)) / (2 * h);
    });
  const fdX = fd(x, (p) => loss(p, w));
  const fdW = fd(w, (p) => loss(x, p));

  const xt = e.upload(x, [N, K]);
  const wt = uploadLinearWeight(e, w, M, K, 'fd.w', chunkBytes);
  const gt = e.upload(g, [N, M]);
  const dx = linearBackwardInput(e, gt, wt, { variant });
  const dw = linearBackwardWeight(e, xt, gt, { variant });
  expectClose(await dx.readF32(), fdX, { atol: 1e-4, rtol: 1e-3, shape: [N, K], what: `dx vs finite differences ${variant}` });
  expectClose(await dw.readF32(), fdW, { atol: 1e-4, rtol: 1e-3, shape: [M, K], what: `dW vs finite differences ${variant}` });
  releaseLinearWeight(e, wt);
  e.releaseAll(xt, gt, dx, dw);
}

const fdCases: KernelCase[] = VARIANTS.flatMap((variant) => [
  { name: `linear backward vs finite differences ${variant}`, run: (e: Engine) => checkLinearFiniteDifferences(e, variant) },
  {
    name: `linear backward vs finite differences ${variant}, weight in 4-row blocks`,
    run: (e: Engine) => checkLinearFiniteDifferences(e, variant, 12 * 4 * 4),
  },
]);

// ---------------------------------------------------------------- bad input

const badInputCases: KernelCase[] = [
  {
    name: 'matmul and linear bad input: K mismatch, dtype, rank, batch, bias, weight size',
    async run(e) {
      const before = e.pool.stats.liveBytes;
      const a = e.upload(new Float32Array(6), [2, 3]);
      const b = e.upload(new Float32Array(8), [4, 2]);
      const i = e.upload(new Int32Array(6), [3, 2]);
      const v = e.upload(new Float32Array(3), [3]);
      const a3 = e.upload(new Float32Array(24), [2, 3, 4]);
      const b3 = e.upload(new Float32Array(36), [3, 4, 3]);
      expectThrow(() => matmul(e, a, b), /matmul: inner dimensions differ for a \[2, 3\] and b \[4, 2\]: K=3 vs 4/);
      expectThrow(() => matmul(e, a, a, { transposeB: false }), /K=3 vs 2/);
      expectThrow(() => matmul(e, a, b, { transposeA: true }), /a \[2, 3\] \(transposed\) and b \[4, 2\]: K=2 vs 4/);
      expectThrow(() => matmul(e, a, i), /matmul: dtype mismatch, a is f32 \[2, 3\] and b is i32 \[3, 2\]/);
      expectThrow(() => matmul(e, v, a), /matmul: a must have rank 2 or 3 \(batched\), got \[3\]/);
      expectThrow(() => matmul(e, a3, b3), /matmul: batch sizes 2 and 3 differ/);
      const w = uploadLinearWeight(e, new Float32Array(12), 4, 3, 'w');
      expectThrow(() => linearForward(e, b, w, null), /linearForward: x \[4, 2\] does not match weight \[4, 3\]: expected K=3, got 2/);
      expectThrow(() => linearForward(e, a, w, v), /linearForward: bias must be f32 \(4\) for weight \[4, 3\], got f32 \[3\]/);
      expectThrow(() => linearForward(e, a3, w, null), /linearForward: x must be \(N, K\) = \(N, 3\), got \[2, 3, 4\]/);
      expectThrow(
        () => linearBackwardInput(e, a, w),
        /linearBackwardInput: dy \[2, 3\] does not match weight \[4, 3\]: expected M=4, got 3/,
      );
      expectThrow(
        () => linearBackwardWeight(e, a, b),
        /linearBackwardWeight: x must be \(N, K\) and dy \(N, M\) with the same N, got x \[2, 3\] and dy \[4, 2\]/,
      );
      expectThrow(() => uploadLinearWeight(e, new Float32Array(11), 4, 3, 'fc'), /uploadLinearWeight: fc has 11 values for shape \[4, 3\]/);
      expectThrow(
        () => uploadLinearWeight(e, new Float32Array(12), 4, 3, 'fc', 8),
        /one row of fc \[4, 3\] is 12 bytes, over the binding limit of 8 bytes/,
      );
      releaseLinearWeight(e, w);
      e.releaseAll(a, b, i, v, a3, b3);
      if (e.pool.stats.liveBytes !== before) throw new Error(`failed calls leaked ${e.pool.stats.liveBytes - before} bytes`);
    },
  },
  {
    name: 'matmul operand over maxStorageBufferBindingSize names the binding and shape',
    async run(e) {
      const n = e.limits.maxStorageBufferBindingSize / 4 + 1;
      if (n * 4 > e.limits.maxBufferSize) return; // the adapter cannot even hold it
      const before = e.pool.stats.liveBytes;
      const a = e.empty([1, n]);
      expectThrow(
        () => matmul(e, a, a.reshape([n, 1]), { variant: 'register' }),
        /matmul\.reg: binding "a" is .* \(\[1, \d+\]\), over this adapter's maxStorageBufferBindingSize/,
      );
      a.release();
      if (e.pool.stats.liveBytes !== before) throw new Error('the failed matmul leaked its output');
    },
  },
];

export const matmulCases: KernelCase[] = leakChecked([...plainMatmulCases, ...crossCases, ...linearCases, ...fdCases, ...badInputCases]);
