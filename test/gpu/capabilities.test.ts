import { describe, expect, it } from 'vitest';
import { capabilitiesOf, variantRuns, type DeviceTraits } from '../../src/gpu/capabilities.js';
import { conv2dVariantFor } from '../../src/kernels/conv2d.js';
import { matmulVariantFor } from '../../src/kernels/matmul.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();

/** Every kernel family that picks a variant per adapter. */
const FAMILIES = { conv2d: conv2dVariantFor, matmul: matmulVariantFor };

function fake(features: string[], isSoftware: boolean, subgroupMinSize?: number): DeviceTraits {
  return { features: new Set(features), adapterInfo: subgroupMinSize === undefined ? {} : { subgroupMinSize }, isSoftware };
}

/** name, traits, the variant every family must pick, whether subgroup kernels may run at all */
const ADAPTERS: [string, DeviceTraits, 'subgroup' | 'register' | 'shared', boolean][] = [
  ['lavapipe: subgroups of 8', fake(['subgroups', 'shader-f16', 'timestamp-query'], true, 8), 'subgroup', true],
  ['software, subgroup size not reported', fake(['subgroups'], true), 'register', false],
  ['SwiftShader-like: subgroups of 4', fake(['subgroups'], true, 4), 'register', false],
  ['software without the feature', fake([], true, 8), 'register', false],
  ['real GPU with subgroups of 32', fake(['subgroups', 'timestamp-query'], false, 32), 'shared', true],
  ['real GPU without subgroups', fake([], false), 'shared', false],
];

describe('capabilities: one verdict for every kernel family', () => {
  for (const [name, traits, expected, subgroupKernels] of ADAPTERS) {
    it(name, () => {
      const caps = capabilitiesOf(traits);
      for (const [family, pick] of Object.entries(FAMILIES)) expect([family, pick(caps)]).toEqual([family, expected]);
      expect(caps.subgroupKernels).toBe(subgroupKernels);
      expect(variantRuns(caps, 'subgroup')).toBe(subgroupKernels);
      expect(variantRuns(caps, 'register') && variantRuns(caps, 'shared') && variantRuns(caps, 'direct')).toBe(true);
      expect(caps.timestamps).toBe(traits.features.has('timestamp-query'));
      expect(caps.f16).toBe(traits.features.has('shader-f16'));
    });
  }

  it('the engine reports the device it has, and records which variant each op ran', async () => {
    const caps = engine.capabilities;
    expect(caps.subgroups).toBe(engine.device.features.has('subgroups'));
    expect(caps.timestamps).toBe(engine.device.features.has('timestamp-query'));
    expect(caps.isSoftware).toBe(engine.adapter.isSoftware);
    const { matmul } = await import('../../src/kernels/matmul.js');
    const a = engine.upload(new Float32Array(8 * 8).fill(1), [8, 8]);
    const before = engine.stats.variants.matmul?.[caps.preferredVariant] ?? 0;
    engine.release(matmul(engine, a, a));
    expect(engine.stats.variants.matmul?.[caps.preferredVariant]).toBe(before + 1);
    a.release();
  });
});
