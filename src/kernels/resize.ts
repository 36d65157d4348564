import source from '../../shaders/resize.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertRank, assertShape4d } from './shape-checks.js';

const resize = defineKernel('resize', source);
const WG = 256;

function resizeParams(n: number, c: number, h: number, w: number, ho: number, wo: number, alignCorners = false) {
  // PyTorch computes the scale in float: small integers, so the f32 rounding of the exact quotient.
  const scale = (i: number, o: number) => Math.fround(alignCorners ? (o > 1 ? (i - 1) / (o - 1) : 0) : i / o);
  return { planes: n * c, h, w, ho, wo, scale_h: scale(h, ho), scale_w: scale(w, wo), align_corners: alignCorners ? 1 : 0 };
}

// x: (N, C, H, W) -> y: (N, C, outH, outW); F.interpolate(x, size=outSize, mode='bilinear', align_corners=alignCorners)
export function bilinearResize(e: Engine, x: Tensor, outSize: [number, number], { alignCorners = false } = {}): Tensor {
  const kernel = 'bilinearResize';
  assertRank(kernel, 'x', x, 4);
  assertDType(kernel, 'x', x, 'f32');
  if (outSize.length !== 2 || outSize.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new KernelInputError(
      `${kernel}: output size ${formatShape(outSize)} must be two positive integers (input ${formatShape(x.shape)})`,
    );
  }
  const [n, c, h, w] = x.shape;
  const [ho, wo] = outSize;
  const y = e.empty([n, c, ho, wo], 'f32', 'bilinearResize.y');
  e.dispatch({
    kernel: resize,
    entry: 'forward',
    bindings: { x, y },
    params: resizeParams(n, c, h, w, ho, wo, alignCorners),
    workgroups: grid1d(y.size, WG),
    constants: { WG },
  });
  return y;
}

// dy: (N, C, outH, outW) -> dx: inputShape (N, C, H, W), the transpose of the forward's interpolation
export function bilinearResizeBackward(e: Engine, dy: Tensor, inputShape: readonly number[]): Tensor {
  const kernel = 'bilinearResize.backward';
  assertShape4d(kernel, 'input', inputShape);
  assertRank(kernel, 'dy', dy, 4);
  assertDType(kernel, 'dy', dy, 'f32');
  const [n, c, h, w] = inputShape;
  const [dn, dc, ho, wo] = dy.shape;
  if (dn !== n || dc !== c) {
    throw new KernelInputError(`${kernel}: dy ${formatShape(dy.shape)} and input ${formatShape(inputShape)} must agree on N and C`);
  }
  const dx = e.empty(inputShape, 'f32', 'bilinearResize.dx');
  e.dispatch({
    kernel: resize,
    entry: 'backward',
    bindings: { dy, dx },
    params: resizeParams(n, c, h, w, ho, wo),
    workgroups: grid1d(dx.size, WG),
    constants: { WG },
  });
  return dx;
}
