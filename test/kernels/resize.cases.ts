import { bilinearResize, bilinearResizeBackward } from '../../src/kernels/resize.js';
import { bilinearResizeBackwardRef, bilinearResizeRef } from '../reference/resize.js';
import { expectClose, randomArray } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const CASES: { name: string; shape: number[]; out: [number, number] }[] = [
  { name: 'Grad-CAM upsample 7 -> 224', shape: [2, 1, 7, 7], out: [224, 224] },
  { name: 'up 8 -> 32 (integer factor)', shape: [2, 3, 8, 8], out: [32, 32] },
  { name: 'up 4 -> 9 (odd factor)', shape: [1, 2, 4, 4], out: [9, 9] },
  { name: 'down 224 -> 7', shape: [1, 3, 224, 224], out: [7, 7] },
  { name: 'down 10 -> 3', shape: [2, 2, 10, 10], out: [3, 3] },
  { name: 'mixed: up rows, down cols', shape: [2, 3, 5, 13], out: [11, 4] },
  { name: 'same size (identity)', shape: [1, 2, 6, 7], out: [6, 7] },
  { name: 'from and to a single pixel', shape: [2, 2, 1, 5], out: [3, 1] },
  { name: 'RISE mask 7 -> 256, many planes', shape: [8, 1, 7, 7], out: [256, 256] },
];

export const resizeCases: KernelCase[] = CASES.map<KernelCase>((c, ci) => ({
  name: `bilinearResize forward+backward ${c.name} ${JSON.stringify(c.shape)} -> ${JSON.stringify(c.out)}`,
  async run(e) {
    const outShape = [c.shape[0], c.shape[1], ...c.out];
    const x = randomArray(size(c.shape), 10 + ci);
    const dy = randomArray(size(outShape), 20 + ci);
    const xt = e.upload(x, c.shape);
    const dyt = e.upload(dy, outShape);
    const y = bilinearResize(e, xt, c.out);
    const dx = bilinearResizeBackward(e, dyt, c.shape);
    expectClose(await y.readF32(), bilinearResizeRef(x, c.shape, c.out), {
      atol: 2e-6,
      rtol: 1e-5,
      shape: outShape,
      what: 'bilinearResize y',
    });
    // dx sums up to ~(out/in)^2 terms of size 1: scale the tolerance with that count.
    const fanIn = Math.max(1, (c.out[0] / c.shape[2]) * (c.out[1] / c.shape[3]));
    expectClose(await dx.readF32(), bilinearResizeBackwardRef(dy, c.shape, c.out), {
      atol: 2e-6 * fanIn,
      rtol: 1e-5,
      shape: c.shape,
      what: 'bilinearResize dx',
    });
    e.releaseAll(xt, dyt, y, dx);
  },
}));

// Values PyTorch prints for F.interpolate(..., mode='bilinear', align_corners=False): a check on the
// reference's reading of the semantics, not only on the kernel.
const KNOWN: { name: string; x: number[]; shape: number[]; out: [number, number]; y: number[] }[] = [
  {
    name: '[[1, 2], [3, 4]] -> 4x4',
    x: [1, 2, 3, 4],
    shape: [1, 1, 2, 2],
    out: [4, 4],
    y: [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4],
  },
  {
    name: 'arange(16) 4x4 -> 2x2',
    x: Array.from({ length: 16 }, (_, i) => i),
    shape: [1, 1, 4, 4],
    out: [2, 2],
    y: [2.5, 4.5, 10.5, 12.5],
  },
];
for (const k of KNOWN) {
  resizeCases.push({
    name: `bilinearResize matches PyTorch's printed values ${k.name}`,
    async run(e) {
      const outShape = [1, 1, ...k.out];
      expectClose(bilinearResizeRef(k.x, k.shape, k.out), k.y, { atol: 0, rtol: 0, shape: outShape, what: 'CPU reference' });
      const xt = e.upload(k.x, k.shape);
      const y = bilinearResize(e, xt, k.out);
      expectClose(await y.readF32(), k.y, { atol: 1e-6, rtol: 0, shape: outShape, what: 'bilinearResize y' });
      e.releaseAll(xt, y);
    },
  });
}

// Resize is linear in x: central differences of sum(dy * y) on the float64 reference give dx.
const FD: { shape: number[]; out: [number, number] }[] = [
  { shape: [1, 2, 4, 3], out: [9, 7] },
  { shape: [2, 1, 10, 9], out: [3, 4] },
];
for (const c of FD) {
  resizeCases.push({
    name: `bilinearResize backward finite differences ${JSON.stringify(c.shape)} -> ${JSON.stringify(c.out)}`,
    async run(e) {
      const outShape = [c.shape[0], c.shape[1], ...c.out];
      const x = randomArray(size(c.shape), 40);
      const dy = randomArray(size(outShape), 41);
      const eps = 1e-3;
      const xp = Float64Array.from(x);
      const objective = () => bilinearResizeRef(xp, c.shape, c.out).reduce((s, v, i) => s + v * dy[i], 0);
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        xp[i] = x[i] + eps;
        const up = objective();
        xp[i] = x[i] - eps;
        const down = objective();
        xp[i] = x[i];
        fd[i] = (up - down) / (2 * eps);
      }
      const dyt = e.upload(dy, outShape);
      const dx = bilinearResizeBackward(e, dyt, c.shape);
      expectClose(await dx.readF32(), fd, { atol: 1e-5, rtol: 1e-4, shape: c.shape, what: 'bilinearResize dx vs finite differences' });
      e.releaseAll(dyt, dx);
    },
  });
}

// align_corners=True (forward only; Score-CAM's masks in pytorch-grad-cam's convention).
const ALIGNED: { name: string; shape: number[]; out: [number, number] }[] = [
  { name: 'up 8 -> 32', shape: [2, 3, 8, 8], out: [32, 32] },
  { name: 'up 7 -> 224', shape: [1, 2, 7, 7], out: [224, 224] },
  { name: 'mixed: up rows, down cols', shape: [2, 1, 5, 13], out: [11, 4] },
  { name: 'to a single row', shape: [1, 2, 6, 5], out: [1, 9] },
];
for (const [ci, c] of ALIGNED.entries()) {
  resizeCases.push({
    name: `bilinearResize align_corners forward ${c.name} ${JSON.stringify(c.shape)} -> ${JSON.stringify(c.out)}`,
    async run(e) {
      const outShape = [c.shape[0], c.shape[1], ...c.out];
      const x = randomArray(size(c.shape), 60 + ci);
      const xt = e.upload(x, c.shape);
      const y = bilinearResize(e, xt, c.out, { alignCorners: true });
      expectClose(await y.readF32(), bilinearResizeRef(x, c.shape, c.out, true), {
        atol: 2e-6,
        rtol: 1e-5,
        shape: outShape,
        what: 'bilinearResize(alignCorners) y',
      });
      e.releaseAll(xt, y);
    },
  });
}
resizeCases.push({
  name: "bilinearResize align_corners matches PyTorch's printed values arange(6) 2x3 -> 3x5",
  async run(e) {
    const x = [0, 1, 2, 3, 4, 5];
    const expected = [0, 0.5, 1, 1.5, 2, 1.5, 2, 2.5, 3, 3.5, 3, 3.5, 4, 4.5, 5];
    expectClose(bilinearResizeRef(x, [1, 1, 2, 3], [3, 5], true), expected, { atol: 0, rtol: 0, what: 'CPU reference' });
    const xt = e.upload(x, [1, 1, 2, 3]);
    const y = bilinearResize(e, xt, [3, 5], { alignCorners: true });
    expectClose(await y.readF32(), expected, { atol: 1e-6, rtol: 0, shape: [1, 1, 3, 5], what: 'bilinearResize(alignCorners) y' });
    e.releaseAll(xt, y);
  },
});
