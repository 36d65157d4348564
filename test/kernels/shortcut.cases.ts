import { shortcutOptionABackward, shortcutOptionAForward } from '../../src/kernels/shortcut.js';
import { shortcutBackwardRef, shortcutRef } from '../reference/shortcut.js';
import { expectClose, randomArray } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const CASES: { shape: number[]; outC: number }[] = [
  { shape: [2, 16, 32, 32], outC: 32 }, // CIFAR ResNet layer2 entry
  { shape: [3, 32, 16, 16], outC: 64 }, // layer3 entry
  { shape: [2, 6, 5, 8], outC: 10 }, // vec4 rows with an odd height: 5x8 -> 3x4
  { shape: [1, 2, 4, 16], outC: 2 }, // vec4 rows, no channel padding
  { shape: [2, 5, 7, 7], outC: 9 }, // odd spatial size: 7x7 -> 4x4
  { shape: [1, 3, 6, 5], outC: 3 }, // no channel padding, odd width
  { shape: [2, 4, 1, 9], outC: 8 }, // a single row
];

export const shortcutCases: KernelCase[] = CASES.map<KernelCase>((c, ci) => ({
  name: `shortcutOptionA forward+backward ${JSON.stringify(c.shape)} -> ${c.outC} channels`,
  async run(e) {
    const x = randomArray(size(c.shape), 10 + ci);
    const ref = shortcutRef(x, c.shape, c.outC);
    const dy = randomArray(ref.y.length, 20 + ci);
    const xt = e.upload(x, c.shape);
    const dyt = e.upload(dy, ref.shape);
    const y = shortcutOptionAForward(e, xt, c.outC);
    const dx = shortcutOptionABackward(e, dyt, c.shape);
    if (y.shape.join() !== ref.shape.join()) throw new Error(`shortcutOptionA: output shape ${y.shape} != expected ${ref.shape}`);
    expectClose(await y.readF32(), ref.y, { atol: 0, rtol: 0, shape: ref.shape, what: 'shortcutOptionA y' });
    expectClose(await dx.readF32(), shortcutBackwardRef(dy, c.shape, c.outC), {
      atol: 0,
      rtol: 0,
      shape: c.shape,
      what: 'shortcutOptionA dx',
    });
    e.releaseAll(xt, dyt, y, dx);
  },
}));

// A selection and a copy are linear: central differences of sum(dy * y) recover the backward exactly
// up to rounding.
shortcutCases.push({
  name: 'shortcutOptionA backward finite differences [2, 2, 5, 3] -> 6 channels',
  async run(e) {
    const shape = [2, 2, 5, 3];
    const outC = 6;
    const x = randomArray(size(shape), 30);
    const { y: y0, shape: outShape } = shortcutRef(x, shape, outC);
    const dy = randomArray(y0.length, 31);
    const eps = 1e-3;
    const xp = Float64Array.from(x);
    const objective = () => shortcutRef(xp, shape, outC).y.reduce((s, v, i) => s + v * dy[i], 0);
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
    const dx = shortcutOptionABackward(e, dyt, shape);
    expectClose(await dx.readF32(), fd, { atol: 1e-5, rtol: 1e-4, shape, what: 'shortcutOptionA dx vs finite differences' });
    e.releaseAll(dyt, dx);
  },
});
