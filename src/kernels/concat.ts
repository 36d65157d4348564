import source from '../../shaders/concat.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType } from './shape-checks.js';

const concat = defineKernel('concat', source);
const WG = 256;

function channelLayout(kernel: string, parts: readonly (readonly number[])[]): { channels: number[]; total: number } {
  if (!parts.length) throw new KernelInputError(`${kernel}: no inputs`);
  const [first] = parts;
  for (const s of parts) {
    if (s.length < 2 || s.length !== first.length || s[0] !== first[0] || s.slice(2).some((d, i) => d !== first[i + 2])) {
      throw new KernelInputError(
        `${kernel}: inputs ${parts.map(formatShape).join(', ')} must agree on every axis but the channels (axis 1)`,
      );
    }
  }
  const channels = parts.map((s) => s[1]);
  return { channels, total: channels.reduce((a, b) => a + b, 0) };
}

// xs: (N, C_k, ...) each -> y: (N, sum C_k, ...), torch.cat(xs, 1)
export function concatChannels(e: Engine, xs: readonly Tensor[]): Tensor {
  const kernel = 'concat.forward';
  xs.forEach((x, k) => assertDType(kernel, `x${k}`, x, 'f32'));
  const { channels, total } = channelLayout(
    kernel,
    xs.map((x) => x.shape),
  );
  const shape = [xs[0].shape[0], total, ...xs[0].shape.slice(2)];
  const plane = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = e.empty(shape, 'f32', 'concat.y');
  let c0 = 0;
  xs.forEach((x, k) => {
    const params = { n: x.size, chunk: channels[k] * plane, stride: total * plane, offset: c0 * plane };
    e.dispatch({
      kernel: concat,
      entry: 'place',
      bindings: { part: x, whole: y },
      params,
      workgroups: grid1d(x.size, WG),
      constants: { WG },
    });
    c0 += channels[k];
  });
  return y;
}

// dy: (N, sum C_k, ...), the inputs' shapes -> dx_k: (N, C_k, ...), the channel slices of dy
export function concatChannelsBackward(e: Engine, dy: Tensor, inputShapes: readonly (readonly number[])[]): Tensor[] {
  const kernel = 'concat.backward';
  assertDType(kernel, 'dy', dy, 'f32');
  const { channels, total } = channelLayout(kernel, inputShapes);
  if (dy.rank !== inputShapes[0].length || dy.shape[1] !== total || dy.shape[0] !== inputShapes[0][0]) {
    throw new KernelInputError(
      `${kernel}: dy ${formatShape(dy.shape)} is not the concatenation of ${inputShapes.map(formatShape).join(', ')}`,
    );
  }
  const plane = dy.shape.slice(2).reduce((a, b) => a * b, 1);
  let c0 = 0;
  return inputShapes.map((shape, k) => {
    const dx = e.empty(shape, 'f32', 'concat.dx');
    const params = { n: dx.size, chunk: channels[k] * plane, stride: total * plane, offset: c0 * plane };
    e.dispatch({
      kernel: concat,
      entry: 'take',
      bindings: { whole_in: dy, part_out: dx },
      params,
      workgroups: grid1d(dx.size, WG),
      constants: { WG },
    });
    c0 += channels[k];
    return dx;
  });
}
