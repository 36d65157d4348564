import { reluBackward, reluForward, type ReluRule } from '../../src/kernels/relu.js';
import { expectClose, randomArray } from '../util/compare.js';
import { reluBackwardRef, reluRef } from '../reference/relu.js';
import type { KernelCase } from './kernel-case.js';

// Odd sizes, one exactly at a workgroup boundary, and one past 65535 workgroups' worth of 1D grid; sizes
// divisible by 4 take the vec4 entry points (256, 4096, 65540).
const SHAPES: number[][] = [[1], [7], [2, 3, 5, 5], [256], [4, 16, 8, 8], [1, 65540], [3, 17, 9, 11], [1, 65536 * 256 + 3]];

function withExactZeros(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i += 7) a[i] = 0; // the z == 0 tie must give gradient 0
  return a;
}

export const reluCases: KernelCase[] = SHAPES.flatMap((shape, si) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const forward: KernelCase = {
    name: `relu forward ${JSON.stringify(shape)}`,
    async run(e) {
      const x = withExactZeros(randomArray(n, 10 + si));
      const xt = e.upload(x, shape);
      const y = reluForward(e, xt);
      expectClose(await y.readF32(), reluRef(x), { atol: 0, rtol: 0, shape, what: 'relu forward' });
      e.releaseAll(xt, y);
    },
  };
  const rules: ReluRule[] = ['standard', 'guided', 'deconvnet'];
  const backward = rules.map<KernelCase>((rule) => ({
    name: `relu backward ${rule} ${JSON.stringify(shape)}`,
    async run(e) {
      const z = withExactZeros(randomArray(n, 20 + si));
      const r = randomArray(n, 30 + si);
      const zt = e.upload(z, shape);
      const rt = e.upload(r, shape);
      const dx = reluBackward(e, zt, rt, rule);
      expectClose(await dx.readF32(), reluBackwardRef(z, r, rule), { atol: 0, rtol: 0, shape, what: `relu backward ${rule}` });
      e.releaseAll(zt, rt, dx);
    },
  }));
  // A second gradient added first (a residual block's shortcut), in the same pass: the rule sees the sum.
  const backwardPlus = rules.map<KernelCase>((rule) => ({
    name: `relu backward ${rule} with a gradient added ${JSON.stringify(shape)}`,
    async run(e) {
      const z = withExactZeros(randomArray(n, 40 + si));
      const r = randomArray(n, 50 + si);
      const plus = randomArray(n, 60 + si);
      const ts = [e.upload(z, shape), e.upload(r, shape), e.upload(plus, shape)];
      const dx = reluBackward(e, ts[0], ts[1], rule, ts[2]);
      const sum = Float32Array.from(r, (v, i) => v + plus[i]);
      expectClose(await dx.readF32(), reluBackwardRef(z, sum, rule), {
        atol: 0,
        rtol: 0,
        shape,
        what: `relu backward ${rule} of dy + plus`,
      });
      e.releaseAll(...ts, dx);
    },
  }));
  return [forward, ...backward, ...backwardPlus];
});
