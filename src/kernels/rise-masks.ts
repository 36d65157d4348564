import source from '../../shaders/rise_masks.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';

const rise = defineKernel('rise_masks', source);
const WG = 256;

export interface RiseMaskSpec {
  /** Grid cells per side (default 7). */
  s: number;
  /** Probability that a cell is kept (default 0.5). */
  p: number;
  seed: number;
}

export function validateRiseMaskSpec(spec: RiseMaskSpec): void {
  if (!Number.isInteger(spec.s) || spec.s < 2) throw new KernelInputError(`rise: grid size s must be an integer >= 2, got ${spec.s}`);
  if (!(spec.p > 0 && spec.p <= 1)) throw new KernelInputError(`rise: keep probability p must be in (0, 1], got ${spec.p}`);
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff)
    throw new KernelInputError(`rise: seed must be a u32, got ${spec.seed}`);
}

// -> masks: (count, 1, H, W) for global mask indices first .. first+count-1
export function generateRiseMasks(e: Engine, spec: RiseMaskSpec, first: number, count: number, [height, width]: [number, number]): Tensor {
  validateRiseMaskSpec(spec);
  const masks = e.empty([count, 1, height, width], 'f32', 'rise.masks');
  e.dispatch({
    kernel: rise,
    entry: 'generate',
    bindings: { masks },
    params: {
      first,
      count,
      height,
      width,
      s: spec.s,
      cell_h: Math.ceil(height / spec.s),
      cell_w: Math.ceil(width / spec.s),
      p: spec.p,
      seed: spec.seed,
    },
    workgroups: grid1d(masks.size, WG),
    constants: { WG },
  });
  return masks;
}
