import source from '../../shaders/reveal.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { assertDType, assertSameShape } from './shape-checks.js';
import { KernelInputError } from '../gpu/errors.js';

const reveal = defineKernel('reveal', source);
const WG = 256;

// rank: u32 (H*W), thresholds: u32 (B), revealed/base: (1, C, H, W) -> (B, C, H, W)
export function revealByRank(e: Engine, rank: Tensor, thresholds: Tensor, revealed: Tensor, base: Tensor): Tensor {
  assertDType('reveal', 'rank', rank, 'u32');
  assertDType('reveal', 'thresholds', thresholds, 'u32');
  assertSameShape('reveal', ['revealed', revealed], ['base', base]);
  if (base.rank !== 4 || base.shape[0] !== 1)
    throw new KernelInputError(`reveal: images must be (1, C, H, W), got [${base.shape.join(', ')}]`);
  const [, c, h, w] = base.shape;
  if (rank.size !== h * w) throw new KernelInputError(`reveal: rank has ${rank.size} entries for a ${h}x${w} image`);
  const batch = thresholds.size;
  const out = e.empty([batch, c, h, w], 'f32', 'reveal.out');
  e.dispatch({
    kernel: reveal,
    entry: 'compose',
    bindings: { rank, threshold: thresholds, revealed, base, out },
    params: { batch, channels: c, plane: h * w },
    workgroups: grid1d(out.size, WG),
    constants: { WG },
  });
  return out;
}
