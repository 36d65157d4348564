import source from '../../shaders/copy_ceiling.wgsl?raw';
import type { Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';

const kernel = defineKernel('copy_ceiling', source);

const WG = 64;
/** Enough workgroups to keep every CPU thread of a software adapter busy. */
const WORKGROUPS = 256;

export interface CopyCeilingResult {
  /** Bytes read plus written per second, best run, GB/s. */
  gbps: number;
  bytes: number;
  runsMs: number[];
}

/**
 * The adapter's copy bandwidth: a 64 MiB buffer (the size of VGG's 4096x4096 classifier weight, far
 * past the caches) copied by the kernel in copy_ceiling.wgsl; best of `runs`.
 */
export async function measureCopyCeiling(e: Engine, opts: { mib?: number; runs?: number } = {}): Promise<CopyCeilingResult> {
  const n4 = ((opts.mib ?? 64) * 2 ** 20) / 16;
  const x = e.zeros([n4 * 4], 'f32', 'copy_ceiling.x');
  const y = e.empty([n4 * 4], 'f32', 'copy_ceiling.y');
  try {
    const stride = WORKGROUPS * WG;
    const once = async () => {
      const t0 = performance.now();
      e.dispatch({
        kernel,
        entry: 'copy',
        bindings: { x4: x, y4: y },
        params: { n4, stride },
        workgroups: [WORKGROUPS, 1, 1],
        constants: { WG },
      });
      await e.finish();
      return performance.now() - t0;
    };
    await once();
    const runsMs: number[] = [];
    for (let r = 0; r < (opts.runs ?? 3); r++) runsMs.push(await once());
    const bytes = 2 * n4 * 16;
    return { gbps: bytes / (Math.min(...runsMs) * 1e6), bytes, runsMs };
  } finally {
    e.releaseAll(x, y);
  }
}
