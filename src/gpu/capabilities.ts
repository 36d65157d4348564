/**
 * What the device can do, decided once per engine, and the one policy every kernel family follows to
 * pick its variant. Kernel files ask `capabilities(e)`; none reads device features or adapter info
 * itself, so no two families can disagree about the same adapter.
 *
 * The variant vocabulary, shared by every family that has more than one kernel shape:
 *   'subgroup'  one 8-invocation workgroup is one subgroup; lanes load one vec4 each and share it with
 *               subgroupBroadcast. Software adapters (lavapipe, SwiftShader) pay several instructions per
 *               loaded float and about one per broadcast, so this is their fastest shape.
 *   'register'  register tiles, no subgroups and no workgroup memory: software adapters without usable
 *               subgroups.
 *   'shared'    classic workgroup-shared-memory tiles: real GPUs.
 *   'direct'    one invocation per output element: thin shapes where a tile would be mostly padding,
 *               and the plain cross-check in tests.
 */

export type KernelVariant = 'subgroup' | 'register' | 'shared' | 'direct';

/** Every kernel variant name, in the order the policies prefer them on software adapters. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = ['subgroup', 'register', 'shared', 'direct'];

/** The subgroup kernels run an 8-invocation workgroup as one subgroup. */
export const SUBGROUP_KERNEL_LANES = 8;

/** One engine's capability object: every variant policy reads it, never the adapter directly. */
export interface Capabilities {
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader): memory loads dominate, broadcasts are cheap. */
  readonly isSoftware: boolean;
  /** The device was created with the `subgroups` feature. */
  readonly subgroups: boolean;
  /** Subgroup sizes the adapter reports; null where it reports none. */
  readonly subgroupMinSize: number | null;
  readonly subgroupMaxSize: number | null;
  /**
   * The verdict every family uses: subgroup kernels may run. Needs the feature and a reported minimum
   * subgroup size of at least 8; an unknown size counts as unusable (a 4-lane subgroup would silently
   * broadcast from lanes that belong to another subgroup).
   */
  readonly subgroupKernels: boolean;
  /** `shader-f16` is enabled on the device. */
  readonly f16: boolean;
  /** `timestamp-query` is enabled on the device (the profiler times each dispatch with it). */
  readonly timestamps: boolean;
  /** The variant a family should use when it has that shape: 'subgroup', 'register' or 'shared'. */
  readonly preferredVariant: Exclude<KernelVariant, 'direct'>;
}

/** The parts of a device and its adapter the policy reads (a fake one in tests). */
export interface DeviceTraits {
  features: { has(name: string): boolean };
  adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } | null;
  isSoftware: boolean;
}

/** What a device offers the kernels (subgroups and their sizes, software or not), and so which variants can run. */
export function capabilitiesOf(d: DeviceTraits): Capabilities {
  const subgroups = d.features.has('subgroups');
  const min = d.adapterInfo?.subgroupMinSize ?? null;
  const max = d.adapterInfo?.subgroupMaxSize ?? null;
  const subgroupKernels = subgroups && min !== null && min >= SUBGROUP_KERNEL_LANES;
  return Object.freeze({
    isSoftware: d.isSoftware,
    subgroups,
    subgroupMinSize: min,
    subgroupMaxSize: max,
    subgroupKernels,
    f16: d.features.has('shader-f16'),
    timestamps: d.features.has('timestamp-query'),
    preferredVariant: !d.isSoftware ? 'shared' : subgroupKernels ? 'subgroup' : 'register',
  });
}

/** Whether this device can run a variant at all (every family accepts 'register', 'shared', 'direct'). */
export function variantRuns(caps: Capabilities, v: KernelVariant): boolean {
  return v !== 'subgroup' || caps.subgroupKernels;
}

const cache = new WeakMap<object, Capabilities>();

/** The engine's capabilities, computed on first use from its device and adapter description. */
export function capabilities(e: { device: GPUDevice; adapter: { isSoftware: boolean } }): Capabilities {
  let c = cache.get(e);
  if (!c) {
    const info = (e.device as { adapterInfo?: DeviceTraits['adapterInfo'] }).adapterInfo;
    c = capabilitiesOf({ features: e.device.features, adapterInfo: info, isSoftware: e.adapter.isSoftware });
    cache.set(e, c);
  }
  return c;
}
