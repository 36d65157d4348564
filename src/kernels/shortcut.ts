import source from '../../shaders/shortcut.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertRank, assertShape4d, assertShapeEquals } from './shape-checks.js';

const shortcut = defineKernel('shortcut', source);
/** Each invocation writes a row: fewer of them, in smaller workgroups. */
const WG = 64;

function shortcutParams(kernel: string, inputShape: readonly number[], outChannels: number) {
  const [n, c, h, w] = inputShape;
  if (!Number.isInteger(outChannels) || outChannels < c || (outChannels - c) % 2 !== 0) {
    throw new KernelInputError(
      `${kernel}: outChannels ${outChannels} must be >= the input's ${c} channels and differ from it by an even number (the zero padding is split equally); input ${formatShape(inputShape)}`,
    );
  }
  return { n, c, h, w, oc: outChannels, ho: Math.ceil(h / 2), wo: Math.ceil(w / 2), pad: (outChannels - c) / 2 };
}

// x: (N, C, H, W) -> y: (N, outC, ceil(H/2), ceil(W/2)); channels [pad, pad + C) hold x[:, :, ::2, ::2]
export function shortcutOptionAForward(e: Engine, x: Tensor, outChannels: number): Tensor {
  const kernel = 'shortcutOptionA.forward';
  assertRank(kernel, 'x', x, 4);
  assertDType(kernel, 'x', x, 'f32');
  const p = shortcutParams(kernel, x.shape, outChannels);
  const y = e.empty([p.n, p.oc, p.ho, p.wo], 'f32', 'shortcutOptionA.y');
  const rows = p.n * p.oc * p.ho;
  e.dispatch({ kernel: shortcut, entry: 'forward', bindings: { x, y }, params: p, workgroups: grid1d(rows, WG), constants: { WG } });
  return y;
}

// dy: (N, outC, ceil(H/2), ceil(W/2)) -> dx: inputShape (N, C, H, W), zero at odd rows and columns
export function shortcutOptionABackward(e: Engine, dy: Tensor, inputShape: readonly number[]): Tensor {
  const kernel = 'shortcutOptionA.backward';
  assertShape4d(kernel, 'input', inputShape);
  assertRank(kernel, 'dy', dy, 4);
  assertDType(kernel, 'dy', dy, 'f32');
  const p = shortcutParams(kernel, inputShape, dy.shape[1]);
  assertShapeEquals(kernel, 'dy', dy, [p.n, p.oc, p.ho, p.wo]);
  const dx = e.empty(inputShape, 'f32', 'shortcutOptionA.dx');
  const rows = p.n * p.c * p.h;
  e.dispatch({ kernel: shortcut, entry: 'backward', bindings: { dy, dx }, params: p, workgroups: grid1d(rows, WG), constants: { WG } });
  return dx;
}
