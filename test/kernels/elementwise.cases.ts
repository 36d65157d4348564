import type { Engine } from '../../src/gpu/engine.js';
import {
  addInPlace,
  addRelu,
  affine,
  binary,
  clamp,
  fill,
  fillAt,
  pow,
  unary,
  type BinaryOp,
  type UnaryOp,
} from '../../src/kernels/elementwise.js';
import { binaryRef, mapRef, powRef, UNARY } from '../reference/elementwise.js';
import { expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min'];

/** Away from zero so div stays well conditioned. */
function nonZero(n: number, seed: number): Float32Array {
  return randomArray(n, seed).map((v) => (v >= 0 ? v + 0.25 : v - 0.25));
}

async function checkBinary(e: Engine, op: BinaryOp, aShape: number[], bShape: number[], seed: number): Promise<void> {
  const a = randomArray(size(aShape), seed);
  const b = nonZero(size(bShape), seed + 1);
  const at = e.upload(a, aShape);
  const bt = e.upload(b, bShape);
  const c = binary(e, op, at, bt);
  const ref = binaryRef(op, a, aShape, b, bShape);
  if (c.shape.join() !== ref.shape.join()) throw new Error(`shape ${c.shape} != ${ref.shape}`);
  expectClose(await c.readF32(), ref.data, {
    atol: 0,
    rtol: op === 'div' ? 2e-7 : 0,
    shape: ref.shape,
    what: `${op} ${JSON.stringify(aShape)} x ${JSON.stringify(bShape)}`,
  });
  e.releaseAll(at, bt, c);
}

// Same shapes (flat path): odd, exactly one workgroup, one past it; sizes divisible by 4 take the
// vec4 entries ([256] in one workgroup, [3, 7, 8, 9] past one).
const FLAT: number[][] = [[1], [7], [256], [257], [2, 3, 5, 5], [3, 7, 8, 9]];
// Broadcasts: scalar-like, [N,1,H,W] x [N,C,H,W], [1,C,1,1], lower rank, both sides broadcasting, rank 6.
const BCAST: [number[], number[]][] = [
  [[3, 17, 9, 11], [1]],
  [[1], [2, 3, 5]],
  [
    [2, 1, 7, 9],
    [2, 3, 7, 9],
  ],
  [
    [2, 3, 7, 9],
    [1, 3, 1, 1],
  ],
  [
    [4, 1, 1],
    [2, 4, 5, 3],
  ],
  [
    [5, 1, 3],
    [1, 4, 1],
  ],
  [
    [2, 1, 3, 1, 2, 3],
    [1, 2, 1, 3, 2, 1],
  ],
  [
    [1, 64, 1, 1],
    [2, 64, 13, 13],
  ],
  // Innermost axis a multiple of 4: vec4 entries (both inputs along it, one broadcast along it).
  [
    [2, 3, 8, 8],
    [1, 3, 1, 1],
  ],
  [
    [2, 1, 4, 8],
    [2, 3, 4, 8],
  ],
  [
    [2, 3, 1, 1],
    [2, 3, 4, 4],
  ],
  [[1], [2, 3, 4]],
  [[4], [3, 4]],
  [
    [3, 1, 1, 8],
    [1, 5, 2, 8],
  ],
  [
    [3, 1],
    [1, 4],
  ],
];

const binaryCases: KernelCase[] = [
  ...OPS.flatMap((op, oi) =>
    FLAT.map<KernelCase>((shape, si) => ({
      name: `binary ${op} ${JSON.stringify(shape)}`,
      run: (e) => checkBinary(e, op, shape, shape, 100 + 10 * oi + si),
    })),
  ),
  ...OPS.flatMap((op, oi) =>
    BCAST.map<KernelCase>(([as, bs], si) => ({
      name: `binary ${op} broadcast ${JSON.stringify(as)} x ${JSON.stringify(bs)}`,
      run: (e) => checkBinary(e, op, as, bs, 300 + 10 * oi + si),
    })),
  ),
  {
    // More than 65535 workgroups of 256: the grid folds into y.
    name: 'binary mul broadcast [2,8,1024,1025] x [1,8,1,1] (past 65535 workgroups)',
    run: (e) => checkBinary(e, 'mul', [2, 8, 1024, 1025], [1, 8, 1, 1], 7),
  },
];

const fusedCases: KernelCase[] = [[9], [2, 3, 17, 5], [2, 4, 6, 6]].flatMap((shape, si) => [
  {
    name: `addRelu ${JSON.stringify(shape)}`,
    async run(e: Engine) {
      const a = randomArray(size(shape), 40 + si);
      const b = randomArray(size(shape), 50 + si);
      const at = e.upload(a, shape);
      const bt = e.upload(b, shape);
      const c = addRelu(e, at, bt);
      expectClose(
        await c.readF32(),
        a.map((v, i) => Math.max(0, Math.fround(v + b[i]))),
        { atol: 0, rtol: 0, shape, what: 'addRelu' },
      );
      e.releaseAll(at, bt, c);
    },
  },
  {
    name: `addInPlace ${JSON.stringify(shape)}`,
    async run(e: Engine) {
      const a = randomArray(size(shape), 60 + si);
      const b = randomArray(size(shape), 70 + si);
      const acc = e.upload(a, shape);
      const bt = e.upload(b, shape);
      addInPlace(e, acc, bt);
      addInPlace(e, acc, bt);
      expectClose(
        await acc.readF32(),
        a.map((v, i) => Math.fround(Math.fround(v + b[i]) + b[i])),
        { atol: 0, rtol: 0, shape, what: 'addInPlace twice' },
      );
      e.releaseAll(acc, bt);
    },
  },
]);

function inputFor(op: UnaryOp, n: number, seed: number): Float32Array {
  if (op === 'log' || op === 'sqrt') return randomArray(n, seed, 1e-3, 10);
  if (op === 'tanh') {
    const x = randomArray(n, seed, -4, 4);
    if (n > 4) [x[0], x[1], x[2], x[3]] = [50, -50, 1e4, 0]; // saturation must stay finite
    return x;
  }
  if (op === 'exp') return randomArray(n, seed, -20, 20);
  return randomArray(n, seed);
}

const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
const mapCases: KernelCase[] = [
  ...UNARY_OPS.flatMap((op, oi) =>
    [[5], [3, 7, 11, 13], [4, 100]].map<KernelCase>((shape, si) => ({
      name: `unary ${op} ${JSON.stringify(shape)}`,
      async run(e) {
        const x = inputFor(op, size(shape), 500 + 10 * oi + si);
        const xt = e.upload(x, shape);
        const y = unary(e, op, xt);
        const exact = op === 'abs' || op === 'relu' || op === 'neg';
        expectClose(await y.readF32(), mapRef(x, UNARY[op]), {
          atol: exact ? 0 : 1e-6,
          rtol: exact ? 0 : 4e-6,
          shape,
          what: `unary ${op}`,
        });
        e.releaseAll(xt, y);
      },
    })),
  ),
  {
    name: 'affine [4,33] scale -2.5 shift 0.75',
    async run(e) {
      const x = randomArray(132, 601);
      const xt = e.upload(x, [4, 33]);
      const y = affine(e, xt, -2.5, 0.75);
      expectClose(
        await y.readF32(),
        mapRef(x, (v) => v * -2.5 + 0.75),
        { atol: 1e-6, rtol: 1e-6, what: 'affine' },
      );
      e.releaseAll(xt, y);
    },
  },
  {
    name: 'affine flat past 65535 workgroups',
    async run(e) {
      const n = 65535 * 256 + 301; // odd: the scalar entry, one invocation per element
      const x = randomArray(n, 602);
      const xt = e.upload(x, [n]);
      const y = affine(e, xt, 3, -1);
      expectClose(
        await y.readF32(),
        mapRef(x, (v) => v * 3 - 1),
        { atol: 1e-6, rtol: 1e-6, what: 'affine large' },
      );
      e.releaseAll(xt, y);
    },
  },
  ...[0.7, 2, 0, 1, -0.5].map<KernelCase>((p) => ({
    name: `pow p=${p} on [0,1] with exact zeros and ones`,
    async run(e) {
      const x = randomArray(301, 610, 0, 1);
      x[0] = 0;
      x[1] = 1;
      x[100] = 0;
      const xt = e.upload(x, [301]);
      const y = pow(e, xt, p);
      expectClose(
        await y.readF32(),
        mapRef(x, (v) => powRef(v, p)),
        { atol: 1e-6, rtol: 1e-5, what: `pow ${p}` },
      );
      e.releaseAll(xt, y);
    },
  })),
  {
    name: 'pow negative base: integer exponents keep the sign, others are NaN',
    async run(e) {
      const x = Float32Array.from([-2, -0.5, -3, 2]);
      const xt = e.upload(x, [4]);
      for (const p of [3, 2]) {
        const y = pow(e, xt, p);
        expectClose(
          await y.readF32(),
          mapRef(x, (v) => powRef(v, p)),
          { atol: 1e-6, rtol: 1e-5, what: `pow ${p}` },
        );
        y.release();
      }
      const y = pow(e, xt, 0.5);
      const got = await y.readF32();
      if (!got.slice(0, 3).every(Number.isNaN)) throw new Error(`pow 0.5 of negative bases: expected NaN, got ${got.slice(0, 3)}`);
      expectClose(got.slice(3), [Math.SQRT2], { atol: 1e-6, rtol: 1e-5, what: 'pow 0.5' });
      y.release();
      xt.release();
    },
  },
  {
    name: 'clamp [3,5,7] to [-0.25, 0.5]',
    async run(e) {
      const x = randomArray(105, 620);
      const xt = e.upload(x, [3, 5, 7]);
      const y = clamp(e, xt, -0.25, 0.5);
      expectClose(
        await y.readF32(),
        mapRef(x, (v) => Math.min(Math.max(v, -0.25), 0.5)),
        { atol: 0, rtol: 0, what: 'clamp' },
      );
      e.releaseAll(xt, y);
    },
  },
  {
    name: 'fill [4, 33] (vec4 entry) and [3, 3]',
    async run(e) {
      for (const shape of [
        [4, 33],
        [3, 3],
      ]) {
        const t = e.empty(shape);
        fill(e, t, 2.5);
        expectClose(await t.readF32(), new Float32Array(size(shape)).fill(2.5), { atol: 0, rtol: 0, shape, what: 'fill' });
        t.release();
      }
    },
  },
  {
    name: 'fill and fillAt (one neuron, a repeated index takes the last value)',
    async run(e) {
      const shape = [2, 3, 5, 7];
      const t = e.empty(shape);
      fill(e, t, 0);
      fillAt(e, t, [0, 37, 209, 37], [1.5, -2, 3.25, 4]);
      const expected = new Float32Array(210);
      expected[0] = 1.5;
      expected[37] = 4;
      expected[209] = 3.25;
      expectClose(await t.readF32(), expected, { atol: 0, rtol: 0, shape, what: 'fillAt' });
      fill(e, t, -0.125);
      expectClose(await t.readF32(), new Float32Array(210).fill(-0.125), { atol: 0, rtol: 0, shape, what: 'fill' });
      t.release();
    },
  },
];

const badInputCases: KernelCase[] = [
  {
    name: 'bad input: incompatible broadcast, dtype mismatch, shape mismatch, bad index',
    async run(e) {
      const a = e.upload(new Float32Array(6), [2, 3]);
      const b = e.upload(new Float32Array(4), [4]);
      const i = e.upload(new Int32Array(6), [2, 3]);
      const big = e.upload(new Float32Array(128), [2, 2, 2, 2, 2, 2, 2]);
      expectThrow(() => binary(e, 'add', a, b), /elementwise\.add: shapes \[2, 3\] and \[4\] cannot broadcast \(axis -1: 3 vs 4/);
      expectThrow(() => binary(e, 'mul', a, i), /elementwise\.mul: dtype mismatch.*f32 \[2, 3\].*i32 \[2, 3\]/);
      expectThrow(() => addRelu(e, a, b), /addRelu: a \[2, 3\] and b \[4\] must have the same shape/);
      expectThrow(() => addInPlace(e, a, a), /share storage/);
      expectThrow(() => unary(e, 'exp', i), /elementwise\.exp: x must be f32, got i32 \[2, 3\]/);
      expectThrow(() => fillAt(e, a, [6], [1]), /index 6 is outside tensor \[2, 3\]/);
      expectThrow(() => fillAt(e, a, [1, 2], [1]), /2 indices but 1 values/);
      expectThrow(() => clamp(e, a, 1, 0), /lo <= hi/);
      expectThrow(() => binary(e, 'add', big, a), /ranks above 6/);
      e.releaseAll(a, b, i, big);
    },
  },
];

export const elementwiseCases: KernelCase[] = leakChecked([...binaryCases, ...fusedCases, ...mapCases, ...badInputCases]);
