import source from '../../shaders/softmax.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';

const softmaxKernel = defineKernel('softmax', source);
/** Invocations per workgroup: softmax.wgsl's `const WG`, which also sizes its workgroup arrays. */
const wg = () => softmaxKernel.reflection.constants.get('WG')!;
/** Rows up to this length take one invocation each instead of a workgroup (see softmax.wgsl). */
const SMALL_LEN = 64;

/** Exposed so tests can reach the folded-grid path without 65536 rows. */
export const softmaxTuning = { maxGroupsPerDim: 65535 };

/** One workgroup per row, the grid folded into y past the per-dimension limit. */
function rowGroups(rows: number): [number, number, number] {
  const max = softmaxTuning.maxGroupsPerDim;
  return rows <= max ? [rows, 1, 1] : [max, Math.ceil(rows / max), 1];
}

function rowsOf(kernel: string, x: Tensor): { rows: number; len: number } {
  assertDType(kernel, 'x', x, 'f32');
  if (x.rank < 1) throw new KernelInputError(`${kernel}: x must have at least one axis`);
  const len = x.shape[x.rank - 1];
  return { rows: x.size / len, len };
}

function forward(e: Engine, x: Tensor, log: boolean): Tensor {
  const kernel = log ? 'logSoftmax' : 'softmax';
  const params = rowsOf(kernel, x);
  const y = e.empty(x.shape, 'f32', `${kernel}.y`);
  if (params.len <= SMALL_LEN) {
    e.dispatch({
      kernel: softmaxKernel,
      entry: 'softmax_small',
      bindings: { x, y },
      params,
      workgroups: grid1d(params.rows, wg()),
      constants: { LOG: log ? 1 : 0 },
    });
  } else {
    e.dispatch({
      kernel: softmaxKernel,
      entry: log ? 'log_softmax' : 'softmax',
      bindings: { x, y },
      params,
      workgroups: rowGroups(params.rows),
    });
  }
  return y;
}

// x: (..., L) -> y: (..., L), softmax over the last axis
export function softmax(e: Engine, x: Tensor): Tensor {
  return forward(e, x, false);
}

// x: (..., L) -> y: (..., L), log-softmax over the last axis
export function logSoftmax(e: Engine, x: Tensor): Tensor {
  return forward(e, x, true);
}

// y: softmax output (..., L), dy: upstream gradient (..., L) -> dx = y * (dy - sum(dy * y)) per row
export function softmaxBackward(e: Engine, y: Tensor, dy: Tensor): Tensor {
  const kernel = 'softmax.backward';
  assertDType(kernel, 'dy', dy, 'f32');
  assertSameShape(kernel, ['y', y], ['dy', dy]);
  const params = rowsOf(kernel, y);
  const dx = e.empty(y.shape, 'f32', 'softmax.dx');
  const bindings = { sy: y, dy, dx };
  if (params.len <= SMALL_LEN) {
    e.dispatch({ kernel: softmaxKernel, entry: 'softmax_backward_small', bindings, params, workgroups: grid1d(params.rows, wg()) });
  } else {
    e.dispatch({ kernel: softmaxKernel, entry: 'softmax_backward', bindings, params, workgroups: rowGroups(params.rows) });
  }
  return dx;
}
