import { batchNormToAffine, channelAffineBackward, channelAffineForward } from '../../src/kernels/channel-affine.js';
import { batchNormRef, channelAffineBackwardRef, channelAffineRef } from '../reference/channel-affine.js';
import { expectClose, randomArray } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// vec4 path when the per-channel extent S is a multiple of 4, the scalar path otherwise.
const SHAPES: number[][] = [
  [2, 64, 56, 56], // ResNet layer1, vec4
  [3, 5, 7, 7], // odd spatial size, scalar
  [2, 300, 3, 3], // many channels, past one workgroup
  [4, 10], // (N, C) as after a flatten, S = 1
  [2, 3, 4], // rank 3, vec4
  [2, 3, 5], // rank 3, scalar
  [1, 1, 1, 1],
];

/** BN statistics like a trained network's: variance in [0.1, 2], gamma of both signs. */
function bnParams(c: number, seed: number) {
  return {
    gamma: randomArray(c, seed, -1.5, 1.5),
    beta: randomArray(c, seed + 1, -0.5, 0.5),
    mean: randomArray(c, seed + 2, -1, 1),
    variance: randomArray(c, seed + 3, 0.1, 2),
    eps: 1e-5,
  };
}

export const channelAffineCases: KernelCase[] = SHAPES.flatMap((shape, si) =>
  [false, true].map<KernelCase>((relu) => ({
    name: `channelAffine forward${relu ? '+relu' : ''}+backward ${JSON.stringify(shape)}`,
    async run(e) {
      const c = shape[1];
      const bn = bnParams(c, 10 + si);
      const { scale, shift } = batchNormToAffine(bn.gamma, bn.beta, bn.mean, bn.variance, bn.eps);
      const x = randomArray(size(shape), 20 + si, -3, 3);
      const dy = randomArray(size(shape), 30 + si);
      const xt = e.upload(x, shape);
      const st = e.upload(scale, [c]);
      const bt = e.upload(shift, [c]);
      const dyt = e.upload(dy, shape);
      const y = channelAffineForward(e, xt, st, bt, { relu });
      const dx = channelAffineBackward(e, dyt, st);
      const got = await y.readF32();
      expectClose(got, channelAffineRef(x, shape, scale, shift, relu), { atol: 1e-6, rtol: 1e-6, shape, what: 'channelAffine y' });
      // The fold itself: the affine map reproduces eval-mode batch-norm computed from its definition.
      const bnY = batchNormRef(x, shape, bn).map((v) => (relu && v < 0 ? 0 : v));
      expectClose(got, bnY, { atol: 1e-5, rtol: 1e-5, shape, what: 'channelAffine y vs batch-norm definition' });
      expectClose(await dx.readF32(), channelAffineBackwardRef(dy, shape, scale), {
        atol: 1e-6,
        rtol: 1e-6,
        shape,
        what: 'channelAffine dx',
      });
      e.releaseAll(xt, st, bt, dyt, y, dx);
    },
  })),
);

// The map is linear, so central differences of sum(dy * y) recover dy * scale to rounding.
channelAffineCases.push({
  name: 'channelAffine backward finite differences [2, 3, 3, 2]',
  async run(e) {
    const shape = [2, 3, 3, 2];
    const scale = randomArray(3, 40, -2, 2);
    const shift = randomArray(3, 41);
    const x = randomArray(size(shape), 42);
    const dy = randomArray(size(shape), 43);
    const eps = 1e-3;
    const fd = new Float64Array(x.length);
    const xp = Float64Array.from(x);
    const objective = () => channelAffineRef(xp, shape, scale, shift).reduce((s, v, i) => s + v * dy[i], 0);
    for (let i = 0; i < x.length; i++) {
      xp[i] = x[i] + eps;
      const up = objective();
      xp[i] = x[i] - eps;
      const down = objective();
      xp[i] = x[i];
      fd[i] = (up - down) / (2 * eps);
    }
    const dyt = e.upload(dy, shape);
    const st = e.upload(scale, [3]);
    const dx = channelAffineBackward(e, dyt, st);
    expectClose(await dx.readF32(), fd, { atol: 1e-5, rtol: 1e-4, shape, what: 'channelAffine dx vs finite differences' });
    e.releaseAll(dyt, st, dx);
  },
});
