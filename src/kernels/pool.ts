import source from '../../shaders/pool.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertRank, assertShapeEquals, assertShape4d } from './shape-checks.js';

const pool = defineKernel('pool', source);
const WG = 256;
/** max_forward's invocations each walk a whole output row: fewer of them, in smaller workgroups. */
const ROW_WG = 64;

/** PyTorch's MaxPool2d / AvgPool2d arguments. A number means the same value for height and width. */
export interface Pool2dOptions {
  kernel: number | [number, number];
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: number | [number, number];
  padding?: number | [number, number];
  /** Max pool only. */
  dilation?: number | [number, number];
  ceilMode?: boolean;
  /** Average pool only; default true, like PyTorch. */
  countIncludePad?: boolean;
}

export type PoolKind = 'max' | 'avg';

interface Pool2dGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

function pair(
  kernel: string,
  name: string,
  v: number | readonly number[] | undefined,
  fallback: [number, number],
  min: number,
): [number, number] {
  if (v === undefined) return fallback;
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    throw new KernelInputError(`${kernel}: ${name} ${JSON.stringify(v)} must be an integer >= ${min} or a pair of them`);
  }
  return [p[0], p[1]];
}

/** PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input or the left padding. */
function outputSize(size: number, k: number, pad: number, stride: number, dilation: number, ceil: boolean): number {
  const span = size + 2 * pad - dilation * (k - 1) - 1;
  let out = Math.floor((span + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}

function poolGeometry(inputShape: readonly number[], opts: Pool2dOptions, kind: PoolKind): Pool2dGeometry {
  const kernel = kind === 'max' ? 'maxPool2d' : 'avgPool2d';
  assertShape4d(kernel, 'input', inputShape);
  const [n, c, h, w] = inputShape;
  if (opts.kernel === undefined) throw new KernelInputError(`${kernel}: a kernel size is required`);
  const [kh, kw] = pair(kernel, 'kernel', opts.kernel, [1, 1], 1);
  const [sh, sw] = pair(kernel, 'stride', opts.stride, [kh, kw], 1);
  const [ph, pw] = pair(kernel, 'padding', opts.padding, [0, 0], 0);
  const [dh, dw] = pair(kernel, 'dilation', opts.dilation, [1, 1], 1);
  if (kind === 'avg' && (dh !== 1 || dw !== 1)) {
    throw new KernelInputError(`${kernel}: dilation [${dh}, ${dw}] is not supported by average pooling (PyTorch has none either)`);
  }
  // PyTorch's rule, on the effective (dilated) kernel extent.
  const [eh, ew] = [dh * (kh - 1) + 1, dw * (kw - 1) + 1];
  if (ph > Math.floor(eh / 2) || pw > Math.floor(ew / 2)) {
    const what =
      dh === 1 && dw === 1
        ? `the kernel [${kh}, ${kw}]`
        : `the effective kernel [${eh}, ${ew}] (kernel [${kh}, ${kw}], dilation [${dh}, ${dw}])`;
    throw new KernelInputError(`${kernel}: padding [${ph}, ${pw}] must be at most half ${what}, as PyTorch requires`);
  }
  const ceil = opts.ceilMode ?? false;
  const ho = outputSize(h, kh, ph, sh, dh, ceil);
  const wo = outputSize(w, kw, pw, sw, dw, ceil);
  if (ho < 1 || wo < 1) {
    throw new KernelInputError(
      `${kernel}: window ${kh}x${kw} (dilation ${dh}x${dw}) is larger than the padded input ${formatShape(inputShape)} with padding [${ph}, ${pw}]; output would be ${ho}x${wo}`,
    );
  }
  return { n, c, h, w, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw };
}

/** (N, C, H, W) -> (N, C, Ho, Wo) under PyTorch's rules; throws a KernelInputError for arguments PyTorch refuses. */
export function pool2dOutputShape(inputShape: readonly number[], opts: Pool2dOptions, kind: PoolKind): [number, number, number, number] {
  const g = poolGeometry(inputShape, opts, kind);
  return [g.n, g.c, g.ho, g.wo];
}

function poolParams(g: Pool2dGeometry, countIncludePad = true) {
  return {
    planes: g.n * g.c,
    h: g.h,
    w: g.w,
    ho: g.ho,
    wo: g.wo,
    kh: g.kh,
    kw: g.kw,
    sh: g.sh,
    sw: g.sw,
    ph: g.ph,
    pw: g.pw,
    dh: g.dh,
    dw: g.dw,
    count_include_pad: countIncludePad ? 1 : 0,
    r0: 0,
    c0: 0,
    qh: 1,
    qw: 1,
    pho: 0,
    pwo: 0,
  };
}

/** Params for the pools that have no window arguments (adaptive, global). */
function planeParams(n: number, c: number, h: number, w: number, ho: number, wo: number) {
  return poolParams({ n, c, h, w, ho, wo, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1 });
}

function checkInput(kernel: string, x: Tensor): void {
  assertRank(kernel, 'x', x, 4);
  assertDType(kernel, 'x', x, 'f32');
}

function checkGradient(kernel: string, dy: Tensor, expected: readonly number[]): void {
  assertDType(kernel, 'dy', dy, 'f32');
  assertShapeEquals(kernel, 'dy', dy, expected);
}

// ---------------------------------------------------------------- max pool

// x: (N, C, H, W) -> y: (N, C, Ho, Wo), switches: u32 (N, C, Ho, Wo) = h*W + w of each window's argmax.
// Ties go to the first maximum in row-major window order; NaN wins (the last NaN). A window of only
// padding (possible with dilation) gives -inf and switch 0xffffffff, which routes no gradient.
export function maxPool2dForward(e: Engine, x: Tensor, opts: Pool2dOptions): { y: Tensor; switches: Tensor } {
  checkInput('maxPool2d.forward', x);
  const g = poolGeometry(x.shape, opts, 'max');
  const outShape = [g.n, g.c, g.ho, g.wo];
  const y = e.empty(outShape, 'f32', 'maxPool2d.y');
  const switches = e.empty(outShape, 'u32', 'maxPool2d.switches');
  e.dispatch({
    kernel: pool,
    entry: 'max_forward',
    bindings: { x, y, switches },
    params: poolParams(g),
    workgroups: grid1d(g.n * g.c * g.ho, ROW_WG),
    constants: { WG: ROW_WG },
  });
  return { y, switches };
}

// dy, switches: (N, C, Ho, Wo) -> dx: inputShape (N, C, H, W). Exact: each input pixel sums dy over
// the windows whose switch points at it.
export function maxPool2dBackward(e: Engine, dy: Tensor, switches: Tensor, inputShape: readonly number[], opts: Pool2dOptions): Tensor {
  const kernel = 'maxPool2d.backward';
  const g = poolGeometry(inputShape, opts, 'max');
  checkGradient(kernel, dy, [g.n, g.c, g.ho, g.wo]);
  assertDType(kernel, 'switches', switches, 'u32');
  assertShapeEquals(kernel, 'switches', switches, dy.shape);
  const dx = e.zeros(inputShape, 'f32', 'maxPool2d.dx');
  // Windows qh rows (qw columns) apart never share an input pixel: one race-free dispatch per phase.
  const qh = Math.ceil(((g.kh - 1) * g.dh + 1) / g.sh);
  const qw = Math.ceil(((g.kw - 1) * g.dw + 1) / g.sw);
  for (let r0 = 0; r0 < Math.min(qh, g.ho); r0++) {
    for (let c0 = 0; c0 < Math.min(qw, g.wo); c0++) {
      const pho = Math.ceil((g.ho - r0) / qh);
      const pwo = Math.ceil((g.wo - c0) / qw);
      const n = g.n * g.c * pho * pwo;
      e.dispatch({
        kernel: pool,
        entry: 'max_backward_phase',
        bindings: { dy, switches_in: switches, dx },
        params: { ...poolParams(g), r0, c0, qh, qw, pho, pwo },
        workgroups: grid1d(n, WG),
        constants: { WG },
        op: kernel,
      });
    }
  }
  return dx;
}

// ---------------------------------------------------------------- average pool

// x: (N, C, H, W) -> y: (N, C, Ho, Wo)
export function avgPool2dForward(e: Engine, x: Tensor, opts: Pool2dOptions): Tensor {
  checkInput('avgPool2d.forward', x);
  const g = poolGeometry(x.shape, opts, 'avg');
  const y = e.empty([g.n, g.c, g.ho, g.wo], 'f32', 'avgPool2d.y');
  e.dispatch({
    kernel: pool,
    entry: 'avg_forward',
    bindings: { x, y },
    params: poolParams(g, opts.countIncludePad ?? true),
    workgroups: grid1d(y.size, WG),
    constants: { WG },
  });
  return y;
}

// dy: (N, C, Ho, Wo) -> dx: inputShape (N, C, H, W)
export function avgPool2dBackward(e: Engine, dy: Tensor, inputShape: readonly number[], opts: Pool2dOptions): Tensor {
  const g = poolGeometry(inputShape, opts, 'avg');
  checkGradient('avgPool2d.backward', dy, [g.n, g.c, g.ho, g.wo]);
  const dx = e.empty(inputShape, 'f32', 'avgPool2d.dx');
  e.dispatch({
    kernel: pool,
    entry: 'avg_backward',
    bindings: { dy, dx },
    params: poolParams(g, opts.countIncludePad ?? true),
    workgroups: grid1d(dx.size, WG),
    constants: { WG },
  });
  return dx;
}

// ---------------------------------------------------------------- adaptive average pool

function checkOutSize(kernel: string, outSize: readonly number[]): [number, number] {
  if (outSize.length !== 2 || outSize.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new KernelInputError(`${kernel}: output size ${formatShape(outSize)} must be two positive integers`);
  }
  return [outSize[0], outSize[1]];
}

// x: (N, C, H, W) -> y: (N, C, oh, ow); output row i averages rows [floor(i*H/oh), ceil((i+1)*H/oh))
export function adaptiveAvgPool2dForward(e: Engine, x: Tensor, outSize: [number, number]): Tensor {
  const kernel = 'adaptiveAvgPool2d.forward';
  checkInput(kernel, x);
  const [ho, wo] = checkOutSize(kernel, outSize);
  const [n, c, h, w] = x.shape;
  if (ho === 1 && wo === 1) return globalAvgPoolForward(e, x);
  const y = e.empty([n, c, ho, wo], 'f32', 'adaptiveAvgPool2d.y');
  e.dispatch({
    kernel: pool,
    entry: 'adaptive_forward',
    bindings: { x, y },
    params: planeParams(n, c, h, w, ho, wo),
    workgroups: grid1d(y.size, WG),
    constants: { WG },
  });
  return y;
}

// dy: (N, C, oh, ow) -> dx: inputShape (N, C, H, W)
export function adaptiveAvgPool2dBackward(e: Engine, dy: Tensor, inputShape: readonly number[]): Tensor {
  const kernel = 'adaptiveAvgPool2d.backward';
  assertShape4d(kernel, 'input', inputShape);
  assertRank(kernel, 'dy', dy, 4);
  const [n, c, h, w] = inputShape;
  const [, , ho, wo] = dy.shape;
  checkGradient(kernel, dy, [n, c, ho, wo]);
  if (ho === 1 && wo === 1) return globalAvgPoolBackward(e, dy, inputShape);
  const dx = e.empty(inputShape, 'f32', 'adaptiveAvgPool2d.dx');
  e.dispatch({
    kernel: pool,
    entry: 'adaptive_backward',
    bindings: { dy, dx },
    params: planeParams(n, c, h, w, ho, wo),
    workgroups: grid1d(dx.size, WG),
    constants: { WG },
  });
  return dx;
}

// ---------------------------------------------------------------- global average pool

// x: (N, C, H, W) -> y: (N, C, 1, 1)
export function globalAvgPoolForward(e: Engine, x: Tensor): Tensor {
  checkInput('globalAvgPool.forward', x);
  const [n, c, h, w] = x.shape;
  const y = e.empty([n, c, 1, 1], 'f32', 'globalAvgPool.y');
  const vec4 = (h * w) % 4 === 0;
  e.dispatch({
    kernel: pool,
    entry: vec4 ? 'global_forward_vec4' : 'global_forward',
    bindings: vec4 ? { x4: x, y } : { x, y },
    params: planeParams(n, c, h, w, 1, 1),
    workgroups: grid1d(n * c, WG),
    constants: { WG },
  });
  return y;
}

// dy: (N, C, 1, 1) or (N, C) -> dx: inputShape (N, C, H, W), each pixel dy / (H*W)
export function globalAvgPoolBackward(e: Engine, dy: Tensor, inputShape: readonly number[]): Tensor {
  const kernel = 'globalAvgPool.backward';
  assertShape4d(kernel, 'input', inputShape);
  const [n, c, h, w] = inputShape;
  assertDType(kernel, 'dy', dy, 'f32');
  if (dy.rank === 2) assertShapeEquals(kernel, 'dy', dy, [n, c]);
  else assertShapeEquals(kernel, 'dy', dy, [n, c, 1, 1]);
  const dx = e.empty(inputShape, 'f32', 'globalAvgPool.dx');
  e.dispatch({
    kernel: pool,
    entry: 'global_backward',
    bindings: { dy, dx },
    params: planeParams(n, c, h, w, 1, 1),
    workgroups: grid1d(dx.size, WG),
    constants: { WG },
  });
  return dx;
}
