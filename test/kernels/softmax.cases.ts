import type { Engine } from '../../src/gpu/engine.js';
import { logSoftmax, softmax, softmaxBackward, softmaxTuning } from '../../src/kernels/softmax.js';
import { softmaxBackwardRef, softmaxRef } from '../reference/softmax.js';
import { expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

async function checkForward(e: Engine, shape: number[], seed: number, scale: number, log: boolean): Promise<void> {
  const len = shape[shape.length - 1];
  const x = randomArray(size(shape), seed, -scale, scale);
  const xt = e.upload(x, shape);
  const y = log ? logSoftmax(e, xt) : softmax(e, xt);
  const got = await y.readF32();
  const bad = got.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${log ? 'logSoftmax' : 'softmax'} produced ${got[bad]} at ${bad}`);
  // exp(x - max) for |x| up to s carries fp32 rounding of the argument: about s * 6e-8 relative.
  const rtol = 2e-6 + scale * 1.2e-7;
  expectClose(got, softmaxRef(x, len, log), {
    atol: log ? 2e-6 : 1e-7,
    rtol,
    shape,
    what: `${log ? 'logSoftmax' : 'softmax'} ${JSON.stringify(shape)} scale ${scale}`,
  });
  e.releaseAll(xt, y);
}

async function checkBackward(e: Engine, shape: number[], seed: number): Promise<void> {
  const len = shape[shape.length - 1];
  const x = randomArray(size(shape), seed, -3, 3);
  const dy = randomArray(size(shape), seed + 1);
  const xt = e.upload(x, shape);
  const dyt = e.upload(dy, shape);
  const y = softmax(e, xt);
  const dx = softmaxBackward(e, y, dyt);
  const yGpu = await y.readF32();
  expectClose(await dx.readF32(), softmaxBackwardRef(yGpu, dy, len), {
    atol: 1e-6,
    rtol: 1e-4,
    shape,
    what: `softmax backward ${JSON.stringify(shape)}`,
  });
  e.releaseAll(xt, dyt, y, dx);
}

/** Central differences of f(x) = sum(w * softmax(x)) on the float64 reference forward. */
async function checkFiniteDifferences(e: Engine, shape: number[], seed: number): Promise<void> {
  const len = shape[shape.length - 1];
  const x = randomArray(size(shape), seed, -2, 2);
  const w = randomArray(size(shape), seed + 1);
  const f = (v: Float32Array | Float64Array) => {
    const s = softmaxRef(Float32Array.from(v), len);
    let t = 0;
    for (let i = 0; i < s.length; i++) t += w[i] * s[i];
    return t;
  };
  const h = 1e-3;
  const fd = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = Float64Array.from(x);
    const xm = Float64Array.from(x);
    xp[i] += h;
    xm[i] -= h;
    fd[i] = (f(xp) - f(xm)) / (2 * h);
  }
  const xt = e.upload(x, shape);
  const wt = e.upload(w, shape);
  const y = softmax(e, xt);
  const dx = softmaxBackward(e, y, wt);
  expectClose(await dx.readF32(), fd, {
    atol: 2e-4,
    rtol: 1e-3,
    shape,
    what: `softmax backward vs finite differences ${JSON.stringify(shape)}`,
  });
  e.releaseAll(xt, wt, y, dx);
}

// Short rows (one invocation per row), long rows (workgroup per row), odd lengths, rank 3, batches.
const SHAPES: number[][] = [
  [1, 1],
  [1, 7],
  [4, 10],
  [3, 64],
  [3, 65],
  [3, 1000],
  [2, 3, 5],
  [2, 2, 1001],
  [300, 33],
];

const cases: KernelCase[] = [
  ...SHAPES.flatMap((shape, si) =>
    [false, true].map<KernelCase>((log) => ({
      name: `${log ? 'logSoftmax' : 'softmax'} ${JSON.stringify(shape)}`,
      run: (e) => checkForward(e, shape, 100 + si, 4, log),
    })),
  ),
  ...[
    [2, 10],
    [2, 1000],
  ].flatMap((shape, si) =>
    [false, true].map<KernelCase>((log) => ({
      name: `${log ? 'logSoftmax' : 'softmax'} large logits (1e4) stay finite ${JSON.stringify(shape)}`,
      run: (e) => checkForward(e, shape, 200 + si, 1e4, log),
    })),
  ),
  ...SHAPES.map<KernelCase>((shape, si) => ({
    name: `softmax backward ${JSON.stringify(shape)}`,
    run: (e) => checkBackward(e, shape, 300 + si),
  })),
  ...[
    [2, 5],
    [1, 70],
    [2, 3, 4],
  ].map<KernelCase>((shape, si) => ({
    name: `softmax backward finite differences ${JSON.stringify(shape)}`,
    run: (e) => checkFiniteDifferences(e, shape, 400 + si),
  })),
  {
    name: 'softmax, logSoftmax and backward on a folded workgroup grid',
    async run(e) {
      const saved = softmaxTuning.maxGroupsPerDim;
      softmaxTuning.maxGroupsPerDim = 4;
      try {
        await checkForward(e, [11, 100], 500, 4, false);
        await checkForward(e, [11, 100], 501, 4, true);
        await checkBackward(e, [11, 100], 502);
      } finally {
        softmaxTuning.maxGroupsPerDim = saved;
      }
    },
  },
  {
    name: 'softmax bad input: dtype, shape mismatch',
    async run(e) {
      const x = e.upload(new Float32Array(6), [2, 3]);
      const d = e.upload(new Float32Array(4), [2, 2]);
      const i = e.upload(new Int32Array(6), [2, 3]);
      expectThrow(() => softmax(e, i), /softmax: x must be f32, got i32 \[2, 3\]/);
      expectThrow(() => softmaxBackward(e, x, d), /softmax\.backward: y \[2, 3\] and dy \[2, 2\] must have the same shape/);
      e.releaseAll(x, d, i);
    },
  },
];

export const softmaxCases: KernelCase[] = leakChecked(cases);
