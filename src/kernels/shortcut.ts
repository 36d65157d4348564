import source from '../../shaders/shortcut.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertRank, assertShape4d, assertShapeEquals } from './shape-checks.js';

const shortcut = defineKernel('shortcut', source);
/** Each invocation writes a row or a plane: fewer of them, in smaller workgroups. */
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

/**
 * Rows of whole vec4s on both sides (W a multiple of 8) take the *4 entries, one invocation per plane:
 * a vec4 costs about 1.6 scalar loads or stores on lavapipe, and a plane's index arithmetic is paid
 * once (docs/adapter.md). The CIFAR ResNets' shortcuts at batch 250 (GPU time, medians of 7, two
 * alternating processes each, December 2026): 16 -> 32 channels on 32x32 forward 3.2-4.1 -> 1.9-2.1 ms,
 * backward 5.7-6.6 -> 1.5-1.6; 32 -> 64 on 16x16 forward 1.8-2.2 -> 1.5, backward 2.9-3.3 -> 1.4-1.7.
 */
function vec4Planes(w: number): boolean {
  return w % 8 === 0;
}

// x: (N, C, H, W) -> y: (N, outC, ceil(H/2), ceil(W/2)); channels [pad, pad + C) hold x[:, :, ::2, ::2]
export function shortcutOptionAForward(e: Engine, x: Tensor, outChannels: number): Tensor {
  const kernel = 'shortcutOptionA.forward';
  assertRank(kernel, 'x', x, 4);
  assertDType(kernel, 'x', x, 'f32');
  const p = shortcutParams(kernel, x.shape, outChannels);
  const y = e.empty([p.n, p.oc, p.ho, p.wo], 'f32', 'shortcutOptionA.y');
  const vec4 = vec4Planes(p.w);
  e.dispatch({
    kernel: shortcut,
    entry: vec4 ? 'forward4' : 'forward',
    bindings: vec4 ? { x4: x, y4: y } : { x, y },
    params: p,
    workgroups: grid1d(vec4 ? p.n * p.oc : p.n * p.oc * p.ho, WG),
    constants: { WG },
  });
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
  const vec4 = vec4Planes(p.w);
  e.dispatch({
    kernel: shortcut,
    entry: vec4 ? 'backward4' : 'backward',
    bindings: vec4 ? { dy4: dy, dx4: dx } : { dy, dx },
    params: p,
    workgroups: grid1d(vec4 ? p.n * p.c : p.n * p.c * p.h, WG),
    constants: { WG },
  });
  return dx;
}
