import { concatChannels, concatChannelsBackward } from '../../src/kernels/concat.js';
import { expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

/** torch.cat(xs, 1) on the CPU: (N, C_k, ...) -> (N, sum C_k, ...). */
function concatRef(parts: { data: Float32Array; shape: number[] }[]): Float32Array {
  const n = parts[0].shape[0];
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    for (const p of parts) {
      const per = p.data.length / n;
      out.push(...p.data.subarray(b * per, (b + 1) * per));
    }
  }
  return Float32Array.from(out);
}

const CASES: { name: string; shapes: number[][] }[] = [
  { name: 'one input', shapes: [[2, 3, 4, 5]] },
  {
    name: 'two inputs, batch 3, odd planes',
    shapes: [
      [3, 5, 7, 9],
      [3, 2, 7, 9],
    ],
  },
  { name: 'DenseNet-like: seven inputs of growing width', shapes: [64, 32, 32, 32, 32, 32, 32].map((c) => [2, c, 6, 6]) },
  {
    name: 'vectors (N, C)',
    shapes: [
      [4, 3],
      [4, 10],
    ],
  },
];

export const concatCases: KernelCase[] = leakChecked([
  ...CASES.map<KernelCase>((c, ci) => ({
    name: `concat forward + backward: ${c.name}`,
    async run(e) {
      const parts = c.shapes.map((shape, k) => ({
        shape,
        data: randomArray(
          shape.reduce((a, b) => a * b, 1),
          70 + 10 * ci + k,
        ),
      }));
      const xs = parts.map((p) => e.upload(p.data, p.shape));
      const y = concatChannels(e, xs);
      const total = c.shapes.reduce((a, s) => a + s[1], 0);
      if (y.shape[1] !== total) throw new Error(`concat: ${y.shape} has ${y.shape[1]} channels, want ${total}`);
      const want = concatRef(parts);
      expectClose(await y.readF32(), want, { atol: 0, rtol: 0, shape: y.shape, what: 'concat forward' });
      // Backward of a copy is the copy back: slicing y itself returns every input exactly.
      const slices = concatChannelsBackward(e, y, c.shapes);
      for (let k = 0; k < parts.length; k++) {
        expectClose(await slices[k].readF32(), parts[k].data, { atol: 0, rtol: 0, shape: c.shapes[k], what: `concat backward slice ${k}` });
      }
      e.releaseAll(...xs, y, ...slices);
    },
  })),
  {
    name: 'concat refuses inputs that differ beyond the channels',
    async run(e) {
      const a = e.zeros([1, 2, 4, 4]);
      const b = e.zeros([1, 2, 4, 5]);
      expectThrow(() => concatChannels(e, [a, b]), /must agree on every axis but the channels/);
      expectThrow(() => concatChannels(e, []), /no inputs/);
      e.releaseAll(a, b);
    },
  },
]);
