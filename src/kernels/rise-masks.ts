import source from '../../shaders/rise_masks.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { binary } from './elementwise.js';

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

function maskParams(spec: RiseMaskSpec, first: number, count: number, [height, width]: [number, number], planes = 0) {
  return {
    first,
    count,
    height,
    width,
    s: spec.s,
    cell_h: Math.ceil(height / spec.s),
    cell_w: Math.ceil(width / spec.s),
    p: spec.p,
    seed: spec.seed,
    planes,
  };
}

/** Rows of whole vec4s take the per-row entries (one invocation per mask row, vec4 stores). */
function vec4Rows(width: number): boolean {
  return width % 4 === 0;
}

// -> masks: (count, 1, H, W) for global mask indices first .. first+count-1
export function generateRiseMasks(e: Engine, spec: RiseMaskSpec, first: number, count: number, size: [number, number]): Tensor {
  validateRiseMaskSpec(spec);
  const [height, width] = size;
  const masks = e.empty([count, 1, height, width], 'f32', 'rise.masks');
  const rows = vec4Rows(width);
  e.dispatch({
    kernel: rise,
    entry: rows ? 'generate4' : 'generate',
    bindings: rows ? { masks4: masks } : { masks },
    params: maskParams(spec, first, count, size),
    workgroups: grid1d(rows ? count * height : masks.size, WG),
    constants: { WG },
  });
  return masks;
}

/** The masks of a batch and the inputs they mask. */
export interface MaskedBatch {
  /** (count, 1, H, W) */
  masks: Tensor;
  /** (count, ...images' leading axes, H, W): every image plane times each mask. */
  masked: Tensor;
}

/**
 * The masks for global indices first .. first+count-1 and `images` (..., H, W) masked by each, in one
 * pass where the width is whole vec4s (otherwise the masks, then one broadcast multiply).
 */
export function generateMaskedInputs(e: Engine, spec: RiseMaskSpec, first: number, count: number, images: Tensor): MaskedBatch {
  validateRiseMaskSpec(spec);
  const shape = images.shape;
  if (shape.length < 3) throw new KernelInputError(`rise: images must have shape (..., H, W), got [${shape.join(', ')}]`);
  const [height, width] = shape.slice(-2) as [number, number];
  if (!vec4Rows(width)) {
    const masks = generateRiseMasks(e, spec, first, count, [height, width]);
    const leading = shape.slice(0, -2).map(() => 1);
    // (count, 1.., H, W) x (1, ..., H, W) broadcasts to (count, ..., H, W)
    const masked = binary(e, 'mul', masks.reshape([count, ...leading, height, width]), images.reshape([1, ...shape]));
    return { masks, masked };
  }
  const planes = images.size / (height * width);
  const masks = e.empty([count, 1, height, width], 'f32', 'rise.masks');
  const masked = e.empty([count, ...shape], 'f32', 'rise.masked');
  e.dispatch({
    kernel: rise,
    entry: 'generate_masked4',
    bindings: { masks4: masks, planes4: images, masked4: masked },
    params: maskParams(spec, first, count, [height, width], planes),
    workgroups: grid1d(count * height, WG),
    constants: { WG },
  });
  return { masks, masked };
}
