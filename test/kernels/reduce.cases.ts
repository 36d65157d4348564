import type { Engine } from '../../src/gpu/engine.js';
import { argmax, dot, minmaxNormalize, reduce, reduceTuning, type ReduceOp } from '../../src/kernels/reduce.js';
import { argmaxRef, dotRef, minmaxRef, reduceRef } from '../reference/reduce.js';
import { expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const OPS: ReduceOp[] = ['sum', 'mean', 'max', 'min'];

function expectedShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  const kept = keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
  return kept.length ? kept : [1];
}

async function checkReduce(e: Engine, op: ReduceOp, shape: number[], axes: number[], keepDims: boolean, seed: number): Promise<void> {
  const x = randomArray(size(shape), seed);
  const xt = e.upload(x, shape);
  const y = reduce(e, op, xt, axes, keepDims);
  axes = axes.map((a) => (a < 0 ? a + shape.length : a));
  const want = expectedShape(shape, axes, keepDims);
  if (y.shape.join() !== want.join()) throw new Error(`reduce ${op}: shape ${JSON.stringify(y.shape)}, expected ${JSON.stringify(want)}`);
  const len = axes.reduce((p, a) => p * shape[a], 1);
  // fp32 accumulation against a float64 reference: the error grows like sqrt(len) for sums.
  const exact = op === 'max' || op === 'min';
  const atol = exact ? 0 : op === 'mean' ? 1e-6 : 2e-6 * Math.sqrt(len);
  expectClose(await y.readF32(), reduceRef(op, x, shape, axes), {
    atol,
    rtol: exact ? 0 : 1e-5,
    shape: want,
    what: `reduce ${op} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`,
  });
  e.releaseAll(xt, y);
}

/** Every contiguous, increasing axis set of a rank-r tensor. */
function contiguousAxisSets(rank: number): number[][] {
  const sets: number[][] = [];
  for (let i = 0; i < rank; i++) for (let j = i; j < rank; j++) sets.push(Array.from({ length: j - i + 1 }, (_, k) => i + k));
  return sets;
}

const RANK4 = [2, 3, 5, 7];
const axisSetCases: KernelCase[] = OPS.flatMap((op, oi) =>
  contiguousAxisSets(4).map<KernelCase>((axes, ai) => ({
    name: `reduce ${op} ${JSON.stringify(RANK4)} axes ${JSON.stringify(axes)}${ai % 2 ? ' keepDims' : ''}`,
    run: (e) => checkReduce(e, op, RANK4, axes, ai % 2 === 1, 1000 + 20 * oi + ai),
  })),
);

// Lengths 1, 7, 1000, 50176 = 224*224 (chunked rows), 1e6; channel reductions (cols path), a long
// axis with few outputs (split cols), and more rows than 65535 workgroups.
const sizeCases: KernelCase[] = [
  ...OPS.flatMap((op, oi) =>
    (
      [
        [[1], [0]],
        [[7], [0]],
        [[3, 1000], [1]],
        [
          [2, 1, 224, 224],
          [2, 3],
        ],
        [[1000000], [0]],
        [[2, 64, 9, 9], [1]],
        [[3000, 3], [0]],
      ] as [number[], number[]][]
    ).map<KernelCase>(([shape, axes], si) => ({
      name: `reduce ${op} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`,
      run: (e) => checkReduce(e, op, shape, axes, false, 2000 + 20 * oi + si),
    })),
  ),
  { name: 'reduce max [70000, 64] axes [1] (many short rows)', run: (e) => checkReduce(e, 'max', [70000, 64], [1], false, 2100) },
  {
    name: 'reduce sum [4200000, 2] axes [1] (one invocation per output, past 65535 workgroups)',
    run: (e) => checkReduce(e, 'sum', [4200000, 2], [1], false, 2105),
  },
  {
    // Workgroup-per-row passes fold their grid into y past 65535 workgroups; a lowered limit reaches
    // that path without a 300 MB tensor.
    name: 'reduce, argmax and dot on a folded workgroup grid',
    async run(e) {
      const saved = reduceTuning.maxGroupsPerDim;
      reduceTuning.maxGroupsPerDim = 5;
      try {
        await checkReduce(e, 'sum', [23, 1100], [1], false, 2101);
        await checkReduce(e, 'max', [3, 50000], [1], true, 2102);
        await checkArgmax(e, randomArray(13 * 1500, 2103), [13, 1500], 1);
        await checkDot(e, 40000, 2104);
      } finally {
        reduceTuning.maxGroupsPerDim = saved;
      }
    },
  },
  { name: 'reduce sum [5, 3, 1] axes [2] (length-1 axis)', run: (e) => checkReduce(e, 'sum', [5, 3, 1], [2], false, 2102) },
  { name: 'reduce mean [2, 3, 5, 7] axes [-2, -1]', run: (e) => checkReduce(e, 'mean', [2, 3, 5, 7], [-2, -1], false, 2103) },
];

async function checkArgmax(e: Engine, x: Float32Array, shape: number[], axis: number): Promise<void> {
  const xt = e.upload(x, shape);
  const idx = argmax(e, xt, axis);
  if (idx.dtype !== 'i32') throw new Error(`argmax dtype ${idx.dtype}`);
  const got = await idx.read();
  expectClose(got, argmaxRef(x, shape, axis), { atol: 0, rtol: 0, what: `argmax ${JSON.stringify(shape)} axis ${axis}` });
  e.releaseAll(xt, idx);
}

/** Values on a coarse grid so ties are common. */
function tied(n: number, seed: number): Float32Array {
  return randomArray(n, seed).map((v) => Math.round(v * 3));
}

const argmaxCases: KernelCase[] = [
  { name: 'argmax ties [4] -> first', run: (e) => checkArgmax(e, Float32Array.from([0, 5, 5, 2]), [4], 0) },
  { name: 'argmax all equal -> 0', run: (e) => checkArgmax(e, new Float32Array(300).fill(-1), [300], 0) },
  {
    name: 'argmax ties far apart in a long row (workgroup merge keeps the first)',
    run: (e) => {
      const x = randomArray(3000, 3000);
      x[2999] = 2;
      x[1300] = 2;
      x[1301] = 2;
      x[2701] = 2;
      return checkArgmax(e, x, [1, 3000], 1);
    },
  },
  { name: 'argmax logits [4, 1000] axis 1 with ties', run: (e) => checkArgmax(e, tied(4000, 3001), [4, 1000], 1) },
  { name: 'argmax long rows [3, 5000] axis 1 with ties (workgroup path)', run: (e) => checkArgmax(e, tied(15000, 3006), [3, 5000], 1) },
  { name: 'argmax channels [2, 7, 5, 3] axis 1 with ties', run: (e) => checkArgmax(e, tied(210, 3002), [2, 7, 5, 3], 1) },
  { name: 'argmax [2, 7, 5, 3] axis 0', run: (e) => checkArgmax(e, tied(210, 3003), [2, 7, 5, 3], 0) },
  { name: 'argmax flattened activation [1, 200704] axis 1', run: (e) => checkArgmax(e, randomArray(200704, 3004), [1, 200704], 1) },
  { name: 'argmax [3, 1] axis 1 (length 1)', run: (e) => checkArgmax(e, randomArray(3, 3005), [3, 1], 1) },
];

async function checkMinmax(e: Engine, x: Float32Array, shape: number[], axes: number[]): Promise<void> {
  const xt = e.upload(x, shape);
  const y = minmaxNormalize(e, xt, axes);
  const got = await y.readF32();
  const bad = got.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`minmaxNormalize produced ${got[bad]} at ${bad}`);
  expectClose(got, minmaxRef(x, shape, axes), {
    atol: 1e-6,
    rtol: 1e-5,
    shape,
    what: `minmax ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`,
  });
  e.releaseAll(xt, y);
}

const minmaxCases: KernelCase[] = [
  { name: 'minmaxNormalize maps [2, 1, 7, 7] over [2, 3]', run: (e) => checkMinmax(e, randomArray(98, 4000, -3, 5), [2, 1, 7, 7], [2, 3]) },
  {
    name: 'minmaxNormalize [3, 224, 224] over [1, 2] (chunked rows)',
    run: (e) => checkMinmax(e, randomArray(3 * 224 * 224, 4001), [3, 224, 224], [1, 2]),
  },
  {
    name: 'minmaxNormalize per image [2, 3, 5, 5] over [1, 2, 3]',
    run: (e) => checkMinmax(e, randomArray(150, 4002), [2, 3, 5, 5], [1, 2, 3]),
  },
  {
    name: 'minmaxNormalize over channels [2, 6, 4, 4] axis [1] (non-trailing)',
    run: (e) => checkMinmax(e, randomArray(192, 4003), [2, 6, 4, 4], [1]),
  },
  {
    name: 'minmaxNormalize constant map -> zeros, never NaN (mixed with a normal slice)',
    async run(e) {
      const shape = [3, 1, 14, 14];
      const x = randomArray(size(shape), 4004);
      x.fill(0.5, 0, 196); // slice 0: constant
      x.fill(0, 392, 588); // slice 2: all zeros (e.g. a ReLU'd Grad-CAM with no positive evidence)
      const xt = e.upload(x, shape);
      const y = minmaxNormalize(e, xt, [2, 3]);
      const got = await y.readF32();
      for (const s of [0, 2]) {
        const slice = got.slice(s * 196, (s + 1) * 196);
        if (!slice.every((v) => v === 0)) throw new Error(`constant slice ${s} did not become zeros: ${slice.slice(0, 4)}`);
      }
      await checkMinmax(e, x, shape, [2, 3]);
      e.releaseAll(xt, y);
    },
  },
  {
    name: 'minmaxNormalize constant 224x224 map with huge values -> zeros',
    async run(e) {
      const x = new Float32Array(224 * 224).fill(3e38);
      const xt = e.upload(x, [1, 224, 224]);
      const y = minmaxNormalize(e, xt, [1, 2]);
      const got = await y.readF32();
      if (!got.every((v) => v === 0)) throw new Error(`expected zeros, got ${got.slice(0, 4)}`);
      e.releaseAll(xt, y);
    },
  },
];

async function checkDot(e: Engine, n: number, seed: number): Promise<void> {
  const a = randomArray(n, seed);
  const b = randomArray(n, seed + 1);
  const at = e.upload(a, [n]);
  const bt = e.upload(b, [n]);
  const d = dot(e, at, bt);
  if (d.shape.join() !== '1') throw new Error(`dot shape ${JSON.stringify(d.shape)}`);
  expectClose(await d.readF32(), [dotRef(a, b)], { atol: 2e-6 * Math.sqrt(n), rtol: 1e-5, what: `dot n=${n}` });
  e.releaseAll(at, bt, d);
}

const dotCases: KernelCase[] = [1, 7, 4096, 4097, 1000000].map((n, i) => ({
  name: `dot n=${n}`,
  run: (e: Engine) => checkDot(e, n, 5000 + 2 * i),
}));

const badInputCases: KernelCase[] = [
  {
    name: 'bad input: non-contiguous or out-of-range axes, dtype, dot shapes',
    async run(e) {
      const x = e.upload(new Float32Array(24), [2, 3, 4]);
      const y = e.upload(new Float32Array(12), [3, 4]);
      const i = e.upload(new Int32Array(24), [2, 3, 4]);
      expectThrow(() => reduce(e, 'sum', x, [0, 2]), /reduce\.sum: axes \[0, 2\] must be contiguous.*\[2, 3, 4\]/);
      expectThrow(() => reduce(e, 'max', x, [3]), /reduce\.max: axis 3 is out of range for x \[2, 3, 4\]/);
      expectThrow(() => reduce(e, 'mean', x, []), /no axes/);
      expectThrow(() => reduce(e, 'sum', i, [1]), /reduce\.sum: x must be f32, got i32 \[2, 3, 4\]/);
      expectThrow(() => argmax(e, x, -4), /argmax: axis -4 is out of range/);
      expectThrow(() => minmaxNormalize(e, x, [2, 1]), /must be contiguous/);
      expectThrow(() => dot(e, x, y), /reduce\.dot: a \[2, 3, 4\] and b \[3, 4\] must have the same shape/);
      expectThrow(() => dot(e, x, i), /reduce\.dot: dtype mismatch/);
      e.releaseAll(x, y, i);
    },
  },
];

export const reduceCases: KernelCase[] = leakChecked([
  ...axisSetCases,
  ...sizeCases,
  ...argmaxCases,
  ...minmaxCases,
  ...dotCases,
  ...badInputCases,
]);
