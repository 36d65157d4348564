import type { Engine } from '../../src/gpu/engine.js';
import {
  adaptiveAvgPool2dBackward,
  adaptiveAvgPool2dForward,
  avgPool2dBackward,
  avgPool2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
  pool2dOutputShape,
  type Pool2dOptions,
} from '../../src/kernels/pool.js';
import {
  adaptiveAvgPoolBackwardRef,
  adaptiveAvgPoolRef,
  avgPoolBackwardRef,
  avgPoolRef,
  globalAvgPoolBackwardRef,
  globalAvgPoolRef,
  maxPoolBackwardRef,
  maxPoolRef,
  poolOutShapeRef,
  refPoolOptions,
} from '../reference/pool.js';
import { expectClose, randomArray, seededRandom } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const TOL = { atol: 1e-6, rtol: 1e-5 };

/** Distinct values spaced 2/n apart in a seeded order: no ties, so max-pool is differentiable at x. */
function distinctArray(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Float32Array.from(order, (v) => (2 * v) / n - 1);
}

/** Small integers: many exact ties inside every window, the case the tie rule decides. */
function tiedArray(n: number, seed: number, levels: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => Math.floor(rnd() * levels));
}

/** d/dx sum(w * f(x)) by central differences in float64 on the CPU reference. */
function centralDifferences(
  f: (x: Float64Array) => ArrayLike<number>,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  eps: number,
): Float64Array {
  const xp = Float64Array.from(x);
  const g = new Float64Array(xp.length);
  const objective = () => {
    const y = f(xp);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  for (let i = 0; i < xp.length; i++) {
    const v = xp[i];
    xp[i] = v + eps;
    const up = objective();
    xp[i] = v - eps;
    const down = objective();
    xp[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

/** Exact comparison where NaN equals NaN and inf equals inf (expectClose counts both as mismatches). */
function expectSameWithNaN(actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[], what: string): void {
  const finite = (v: number) => (Number.isNaN(v) ? 1e30 : v === Infinity ? 2e30 : v === -Infinity ? -2e30 : v);
  const a = Float64Array.from(actual, finite);
  const b = Float64Array.from(expected, finite);
  expectClose(a, b, { atol: 0, rtol: 0, shape, what });
}

// ---------------------------------------------------------------- max pool

interface MaxCase {
  name: string;
  shape: number[];
  opts: Pool2dOptions;
  input?: 'random' | 'ties' | 'binary' | 'constant' | 'nan' | 'neginf';
}

const MAX_CASES: MaxCase[] = [
  { name: 'ResNet stem 3x3/2 pad 1, 112->56, N=2', shape: [2, 64, 112, 112], opts: { kernel: 3, stride: 2, padding: 1 } },
  { name: '2x2/2 odd size (floor)', shape: [1, 3, 7, 9], opts: { kernel: 2 } },
  { name: '2x2/2 odd size ceil_mode', shape: [2, 3, 7, 9], opts: { kernel: 2, ceilMode: true } },
  { name: '3x3/2 pad 1 ceil_mode odd', shape: [2, 5, 11, 13], opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true } },
  { name: '3x3/2 ceil_mode, last window clipped', shape: [1, 2, 6, 8], opts: { kernel: 3, stride: 2, ceilMode: true } },
  { name: '3x3/1 pad 1 overlapping', shape: [2, 3, 9, 10], opts: { kernel: 3, stride: 1, padding: 1 } },
  { name: '3x3/2 pad 1 dilation 2', shape: [2, 3, 15, 17], opts: { kernel: 3, stride: 2, padding: 1, dilation: 2 } },
  {
    name: '3x3/2 pad 1 dilation 2 ceil_mode',
    shape: [1, 4, 10, 9],
    opts: { kernel: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true },
  },
  {
    name: 'rectangular k[3,2] s[2,1] p[1,0] d[2,1]',
    shape: [2, 2, 12, 11],
    opts: { kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [2, 1] },
  },
  { name: '5x5/3 pad 2 past one workgroup', shape: [3, 7, 37, 41], opts: { kernel: 5, stride: 3, padding: 2 } },
  { name: 'ties: 3 levels, 3x3/1 pad 1', shape: [2, 3, 9, 9], opts: { kernel: 3, stride: 1, padding: 1 }, input: 'ties' },
  {
    name: 'ties: binary, 3x3/2 pad 1 ceil',
    shape: [2, 4, 13, 12],
    opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true },
    input: 'binary',
  },
  { name: 'ties: constant input, 2x2/1 dilation 2', shape: [1, 2, 8, 7], opts: { kernel: 2, stride: 1, dilation: 2 }, input: 'constant' },
  { name: 'NaN propagates', shape: [1, 2, 8, 9], opts: { kernel: 3, stride: 2, padding: 1 }, input: 'nan' },
  {
    name: 'dilated windows of only padding',
    shape: [2, 2, 2, 6],
    opts: { kernel: [2, 3], stride: [1, 2], padding: [2, 1], dilation: [3, 1] },
  },
  { name: 'pad 2 within the dilated 3x3 (effective 5x5)', shape: [1, 3, 9, 10], opts: { kernel: 3, stride: 2, padding: 2, dilation: 2 } },
  { name: '-inf windows keep the first tap', shape: [1, 2, 8, 8], opts: { kernel: 3, stride: 2, padding: 1 }, input: 'neginf' },
];

function maxInput(c: MaxCase, seed: number): Float32Array {
  const n = size(c.shape);
  switch (c.input ?? 'random') {
    case 'ties':
      return tiedArray(n, seed, 3);
    case 'binary':
      return tiedArray(n, seed, 2);
    case 'constant':
      return new Float32Array(n).fill(0.5);
    case 'nan': {
      const x = randomArray(n, seed);
      for (let i = 3; i < n; i += 11) x[i] = NaN;
      return x;
    }
    case 'neginf': {
      const x = randomArray(n, seed);
      for (let i = 0; i < n; i++) if (i % 64 < 40) x[i] = -Infinity;
      return x;
    }
    default:
      return randomArray(n, seed);
  }
}

const maxCases: KernelCase[] = MAX_CASES.map((c, ci) => ({
  name: `maxPool2d forward+backward ${c.name} ${JSON.stringify(c.shape)}`,
  async run(e: Engine) {
    const o = refPoolOptions(c.opts);
    const outShape = poolOutShapeRef(c.shape, o);
    const x = maxInput(c, 100 + ci);
    const dy = randomArray(size(outShape), 200 + ci);
    const ref = maxPoolRef(x, c.shape, o);
    const refDx = maxPoolBackwardRef(dy, ref.switches, c.shape, outShape);

    const xt = e.upload(x, c.shape);
    const { y, switches } = maxPool2dForward(e, xt, c.opts);
    const dyt = e.upload(dy, outShape);
    const dx = maxPool2dBackward(e, dyt, switches, c.shape, c.opts);
    if (y.shape.join() !== outShape.join()) throw new Error(`maxPool2d: output shape ${y.shape} != expected ${outShape}`);
    expectSameWithNaN(await y.readF32(), ref.y, outShape, 'maxPool2d y');
    expectClose(await switches.read(), ref.switches, { atol: 0, rtol: 0, shape: outShape, what: 'maxPool2d switches' });
    expectClose(await dx.readF32(), refDx, { ...TOL, shape: c.shape, what: 'maxPool2d dx' });
    e.releaseAll(xt, y, switches, dyt, dx);
  },
}));

// ---------------------------------------------------------------- average pool

interface AvgCase {
  name: string;
  shape: number[];
  opts: Pool2dOptions;
}

const AVG_CASES: AvgCase[] = [
  { name: '2x2/2 odd size', shape: [2, 3, 7, 9], opts: { kernel: 2 } },
  { name: '3x3/2 pad 1 ceil_mode count_include_pad', shape: [2, 5, 11, 13], opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true } },
  {
    name: '3x3/2 pad 1 ceil_mode exclude pad',
    shape: [2, 5, 11, 13],
    opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false },
  },
  {
    name: '3x3/2 pad 1 ceil_mode, window past input+padding',
    shape: [1, 3, 6, 6],
    opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true },
  },
  {
    name: '3x3/2 no pad ceil_mode, window past input',
    shape: [1, 3, 6, 8],
    opts: { kernel: 3, stride: 2, ceilMode: true, countIncludePad: false },
  },
  {
    name: '3x3/1 pad 1 overlapping exclude pad',
    shape: [1, 4, 10, 10],
    opts: { kernel: 3, stride: 1, padding: 1, countIncludePad: false },
  },
  {
    name: 'rectangular k[3,2] s[2,2] p[1,1] ceil',
    shape: [2, 3, 9, 8],
    opts: { kernel: [3, 2], stride: [2, 2], padding: [1, 1], ceilMode: true },
  },
  { name: '3x3/2 pad 1 past one workgroup', shape: [2, 16, 33, 33], opts: { kernel: 3, stride: 2, padding: 1 } },
];

const avgCases: KernelCase[] = AVG_CASES.map((c, ci) => ({
  name: `avgPool2d forward+backward ${c.name} ${JSON.stringify(c.shape)}`,
  async run(e: Engine) {
    const o = refPoolOptions(c.opts);
    const outShape = poolOutShapeRef(c.shape, o);
    const x = randomArray(size(c.shape), 300 + ci);
    const dy = randomArray(size(outShape), 400 + ci);
    const xt = e.upload(x, c.shape);
    const y = avgPool2dForward(e, xt, c.opts);
    const dyt = e.upload(dy, outShape);
    const dx = avgPool2dBackward(e, dyt, c.shape, c.opts);
    if (y.shape.join() !== outShape.join()) throw new Error(`avgPool2d: output shape ${y.shape} != expected ${outShape}`);
    expectClose(await y.readF32(), avgPoolRef(x, c.shape, o), { ...TOL, shape: outShape, what: 'avgPool2d y' });
    expectClose(await dx.readF32(), avgPoolBackwardRef(dy, c.shape, o), { ...TOL, shape: c.shape, what: 'avgPool2d dx' });
    e.releaseAll(xt, y, dyt, dx);
  },
}));

// ---------------------------------------------------------------- adaptive and global average pool

const ADAPTIVE_CASES: { name: string; shape: number[]; out: [number, number] }[] = [
  { name: '13x13 -> 7x7 (non-divisible)', shape: [2, 3, 13, 13], out: [7, 7] },
  { name: 'VGG 7x7 -> 7x7 (identity)', shape: [2, 512, 7, 7], out: [7, 7] },
  { name: 'VGG 14x14 -> 7x7', shape: [2, 512, 14, 14], out: [7, 7] },
  { name: '5x9 -> 3x4', shape: [3, 2, 5, 9], out: [3, 4] },
  { name: '10x7 -> 4x3', shape: [1, 5, 10, 7], out: [4, 3] },
  { name: '3x4 -> 5x6 (upsampling windows)', shape: [2, 2, 3, 4], out: [5, 6] },
  { name: '6x6 -> 1x1 (routes to global)', shape: [2, 3, 6, 6], out: [1, 1] },
];

const adaptiveCases: KernelCase[] = ADAPTIVE_CASES.map((c, ci) => ({
  name: `adaptiveAvgPool2d forward+backward ${c.name} ${JSON.stringify(c.shape)}`,
  async run(e: Engine) {
    const outShape = [c.shape[0], c.shape[1], ...c.out];
    const x = randomArray(size(c.shape), 500 + ci);
    const dy = randomArray(size(outShape), 600 + ci);
    const xt = e.upload(x, c.shape);
    const y = adaptiveAvgPool2dForward(e, xt, c.out);
    const dyt = e.upload(dy, outShape);
    const dx = adaptiveAvgPool2dBackward(e, dyt, c.shape);
    expectClose(await y.readF32(), adaptiveAvgPoolRef(x, c.shape, c.out), { ...TOL, shape: outShape, what: 'adaptiveAvgPool2d y' });
    expectClose(await dx.readF32(), adaptiveAvgPoolBackwardRef(dy, c.shape, c.out), {
      ...TOL,
      shape: c.shape,
      what: 'adaptiveAvgPool2d dx',
    });
    e.releaseAll(xt, y, dyt, dx);
  },
}));

const GLOBAL_SHAPES: number[][] = [
  [2, 512, 7, 7], // ResNet head, scalar path
  [3, 5, 8, 8], // vec4 path
  [2, 64, 56, 56], // large planes, vec4
  [1, 3, 1, 1],
  [2, 3, 5, 3],
  [4, 300, 3, 3], // more planes than one workgroup
];

const globalCases: KernelCase[] = GLOBAL_SHAPES.map((shape, si) => ({
  name: `globalAvgPool forward+backward ${JSON.stringify(shape)}`,
  async run(e: Engine) {
    const outShape = [shape[0], shape[1], 1, 1];
    const x = randomArray(size(shape), 700 + si);
    const dy = randomArray(size(outShape), 800 + si);
    const xt = e.upload(x, shape);
    const y = globalAvgPoolForward(e, xt);
    const dyt = e.upload(dy, outShape);
    const dx = globalAvgPoolBackward(e, dyt, shape);
    const dyFlat = dyt.reshape([shape[0], shape[1]]);
    const dx2 = globalAvgPoolBackward(e, dyFlat, shape);
    expectClose(await y.readF32(), globalAvgPoolRef(x, shape), { ...TOL, shape: outShape, what: 'globalAvgPool y' });
    const refDx = globalAvgPoolBackwardRef(dy, shape);
    expectClose(await dx.readF32(), refDx, { ...TOL, shape, what: 'globalAvgPool dx' });
    expectClose(await dx2.readF32(), refDx, { ...TOL, shape, what: 'globalAvgPool dx from (N, C) dy' });
    e.releaseAll(xt, y, dyt, dx, dx2);
  },
}));

// ---------------------------------------------------------------- finite differences

/** GPU backward vs central differences of the float64 CPU forward, objective sum(dy * y). */
async function fdCheck(
  e: Engine,
  shape: number[],
  x: Float32Array,
  outShape: readonly number[],
  forwardRef: (x: Float64Array) => ArrayLike<number>,
  backwardGpu: (dyt: ReturnType<Engine['upload']>) => ReturnType<Engine['upload']>,
  eps: number,
  seed: number,
  what: string,
): Promise<void> {
  const dy = randomArray(size(outShape), seed);
  const fd = centralDifferences(forwardRef, x, dy, eps);
  const dyt = e.upload(dy, outShape);
  const dx = backwardGpu(dyt);
  expectClose(await dx.readF32(), fd, { atol: 1e-5, rtol: 1e-4, shape, what });
  e.releaseAll(dyt, dx);
}

const FD_MAX: { shape: number[]; opts: Pool2dOptions }[] = [
  { shape: [1, 2, 7, 7], opts: { kernel: 3, stride: 2, padding: 1 } },
  { shape: [2, 1, 9, 8], opts: { kernel: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true } },
  { shape: [1, 2, 6, 7], opts: { kernel: 3, stride: 1, padding: 1 } },
];
const FD_AVG: { shape: number[]; opts: Pool2dOptions }[] = [
  { shape: [1, 2, 7, 6], opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false } },
  { shape: [2, 1, 6, 6], opts: { kernel: 3, stride: 2, padding: 1, ceilMode: true } },
];

const fdCases: KernelCase[] = [
  ...FD_MAX.map<KernelCase>((c, ci) => ({
    name: `maxPool2d backward finite differences ${JSON.stringify(c.shape)} ${JSON.stringify(c.opts)}`,
    async run(e) {
      const o = refPoolOptions(c.opts);
      const n = size(c.shape);
      const x = distinctArray(n, 900 + ci);
      const { switches } = maxPoolRef(x, c.shape, o);
      const sw = e.upload(switches, poolOutShapeRef(c.shape, o));
      // eps well under the 2/n gap between values, so no window changes its argmax.
      await fdCheck(
        e,
        c.shape,
        x,
        poolOutShapeRef(c.shape, o),
        (xp) => maxPoolRef(xp, c.shape, o).y,
        (dyt) => maxPool2dBackward(e, dyt, sw, c.shape, c.opts),
        0.25 / n,
        950 + ci,
        'maxPool2d dx vs finite differences',
      );
      sw.release();
    },
  })),
  ...FD_AVG.map<KernelCase>((c, ci) => ({
    name: `avgPool2d backward finite differences ${JSON.stringify(c.shape)} ${JSON.stringify(c.opts)}`,
    async run(e) {
      const o = refPoolOptions(c.opts);
      await fdCheck(
        e,
        c.shape,
        randomArray(size(c.shape), 1000 + ci),
        poolOutShapeRef(c.shape, o),
        (xp) => avgPoolRef(xp, c.shape, o),
        (dyt) => avgPool2dBackward(e, dyt, c.shape, c.opts),
        1e-3,
        1050 + ci,
        'avgPool2d dx vs finite differences',
      );
    },
  })),
  {
    name: 'adaptiveAvgPool2d backward finite differences [1, 2, 7, 5] -> 3x2',
    async run(e) {
      const shape = [1, 2, 7, 5];
      await fdCheck(
        e,
        shape,
        randomArray(size(shape), 1100),
        [1, 2, 3, 2],
        (xp) => adaptiveAvgPoolRef(xp, shape, [3, 2]),
        (dyt) => adaptiveAvgPool2dBackward(e, dyt, shape),
        1e-3,
        1101,
        'adaptiveAvgPool2d dx vs finite differences',
      );
    },
  },
  {
    name: 'globalAvgPool backward finite differences [2, 2, 5, 3]',
    async run(e) {
      const shape = [2, 2, 5, 3];
      await fdCheck(
        e,
        shape,
        randomArray(size(shape), 1200),
        [2, 2, 1, 1],
        (xp) => globalAvgPoolRef(xp, shape),
        (dyt) => globalAvgPoolBackward(e, dyt, shape),
        1e-3,
        1201,
        'globalAvgPool dx vs finite differences',
      );
    },
  },
];

// ---------------------------------------------------------------- output-shape rule

const shapeCase: KernelCase = {
  name: 'pool2dOutputShape follows PyTorch (floor, ceil_mode, dilation)',
  async run() {
    const check = (input: number[], opts: Pool2dOptions, kind: 'max' | 'avg', expected: number[]) => {
      const got = pool2dOutputShape(input, opts, kind);
      if (got.join() !== expected.join()) throw new Error(`pool2dOutputShape(${input}, ${JSON.stringify(opts)}): ${got} != ${expected}`);
    };
    check([2, 64, 112, 112], { kernel: 3, stride: 2, padding: 1 }, 'max', [2, 64, 56, 56]);
    check([1, 1, 7, 7], { kernel: 2 }, 'max', [1, 1, 3, 3]);
    check([1, 1, 7, 7], { kernel: 2, ceilMode: true }, 'max', [1, 1, 4, 4]);
    // ceil_mode would add a window starting at 6 >= 5 + 1: dropped.
    check([1, 1, 5, 5], { kernel: 2, stride: 2, padding: 1, ceilMode: true }, 'avg', [1, 1, 3, 3]);
    check([1, 1, 6, 6], { kernel: 3, stride: 2, padding: 1, ceilMode: true }, 'avg', [1, 1, 4, 4]);
    check([1, 1, 15, 17], { kernel: 3, stride: 2, padding: 1, dilation: 2 }, 'max', [1, 1, 7, 8]);
  },
};

export const poolCases: KernelCase[] = [shapeCase, ...maxCases, ...avgCases, ...adaptiveCases, ...globalCases, ...fdCases];
