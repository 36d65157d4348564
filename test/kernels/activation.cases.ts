import { activationBackward, activationForward, ACTIVATION_SAVES, ACTIVATIONS, type Activation } from '../../src/kernels/activation.js';
import type { ReluRule } from '../../src/kernels/relu.js';
import { activationGradRef, activationRef } from '../reference/activation.js';
import { expectClose, randomArray } from '../util/compare.js';
import { expectThrow, leakChecked, type KernelCase } from './kernel-case.js';

// Odd sizes, a workgroup boundary, and a grid folded past 65535 workgroups.
const SHAPES: number[][] = [[7], [2, 3, 5, 5], [256], [1, 65536 * 256 + 5]];
/** Where the piecewise definitions switch (PyTorch's boundary choices are tested there) and where exp overflows. */
const PLANTED = [-3, 3, 0, 6, -6, -100, 100, -90, 90, 2.999, -2.999, 6.001];

function inputs(n: number, seed: number): Float32Array {
  const z = randomArray(n, seed, -8, 8);
  for (let i = 0; i < n; i += 5) z[i] = PLANTED[(i / 5) % PLANTED.length];
  return z;
}

/** exp-based activations are within a few ulp of the float64 definition; the piecewise ones are exact in f32 up to rounding of / 6. */
const TOL = { atol: 1e-6, rtol: 2e-6 };

function forwardCase(act: Activation, shape: number[], si: number): KernelCase {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name: `${act} forward ${JSON.stringify(shape)}`,
    async run(e) {
      const z = inputs(n, 40 + si);
      const zt = e.upload(z, shape);
      const y = activationForward(e, act, zt);
      expectClose(
        await y.readF32(),
        z.map((v) => activationRef(act, v)),
        { ...TOL, shape, what: `${act} forward` },
      );
      e.releaseAll(zt, y);
    },
  };
}

function backwardCase(act: Activation, rule: ReluRule, shape: number[], si: number): KernelCase {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name: `${act} backward ${rule} ${JSON.stringify(shape)}`,
    async run(e) {
      const z = inputs(n, 50 + si);
      const r = randomArray(n, 60 + si);
      // The kernel reads z or y (ACTIVATION_SAVES), as the graph keeps it.
      const saved = ACTIVATION_SAVES[act] === 'output' ? Float32Array.from(z, (v) => activationRef(act, v)) : z;
      const st = e.upload(saved, shape);
      const rt = e.upload(r, shape);
      const dz = activationBackward(e, act, st, rt, rule);
      const want = Float32Array.from(z, (v, i) => activationGradRef(act, v, r[i], rule));
      expectClose(await dz.readF32(), want, { ...TOL, shape, what: `${act} backward ${rule}` });
      e.releaseAll(st, rt, dz);
    },
  };
}

/** The CPU reference's gradient against central differences of its own forward (smooth activations, away from kinks). */
const finiteDifferenceCase: KernelCase = {
  name: 'activation references: gradients agree with finite differences',
  async run() {
    for (const act of ACTIVATIONS) {
      for (const z of [-5.5, -2.5, -1, -0.3, 0.4, 1.7, 2.5, 5.5, 7]) {
        const h = 1e-6;
        const fd = (activationRef(act, z + h) - activationRef(act, z - h)) / (2 * h);
        const g = activationGradRef(act, z, 1);
        if (Math.abs(fd - g) > 1e-6) throw new Error(`${act}'(${z}): reference ${g}, finite difference ${fd}`);
      }
    }
  },
};

const refusalCase: KernelCase = {
  name: 'activation: the guided and DeconvNet rules are refused for smooth activations',
  async run(e) {
    const t = e.zeros([4]);
    expectThrow(() => activationBackward(e, 'silu', t, t, 'guided'), /guided rule applies to ReLU-family units only/);
    expectThrow(() => activationForward(e, 'gelu' as Activation, t), /unknown activation "gelu"/);
    e.release(t);
  },
};

export const activationCases: KernelCase[] = leakChecked([
  ...ACTIVATIONS.flatMap((act) => SHAPES.slice(0, 3).map((s, si) => forwardCase(act, s, si))),
  // The folded grid once: the indexing is shared by every entry point (relu6's reference is the cheapest).
  forwardCase('relu6', SHAPES[3], 3),
  ...ACTIVATIONS.flatMap((act) => SHAPES.slice(0, 3).map((s, si) => backwardCase(act, 'standard', s, si))),
  backwardCase('relu6', 'guided', SHAPES[1], 1),
  backwardCase('relu6', 'deconvnet', SHAPES[1], 1),
  finiteDifferenceCase,
  refusalCase,
]);
