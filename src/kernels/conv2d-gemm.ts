import gemmSource from '../../shaders/conv2d_gemm.wgsl?raw';
import sgSource from '../../shaders/conv2d_gemm_sg.wgsl?raw';
import packSource from '../../shaders/conv2d_pack.wgsl?raw';
import type { KernelVariant } from '../gpu/capabilities.js';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, GpuLimitError } from '../gpu/errors.js';
import { defineKernel, type Kernel, type ParamValues } from '../gpu/kernel.js';
import type { Storage, Tensor } from '../gpu/tensor.js';
import { scoped } from '../gpu/scopes.js';

/**
 * The implicit-GEMM machinery behind conv2d.ts: tile configurations per variant, the packed-weight
 * cache, the input packing the non-subgroup kernels read, and the dispatch.
 *
 * A GemmConv is any conv the GEMM kernels run: the forward conv, each stride-1 phase of backward to
 * the input (a conv of dy with a flipped, subsampled kernel, stored strided into dx), and the pointwise
 * "columns" GEMM of backward for thin inputs. Pointwise stride-1 convs are described with the image
 * plane as one row of H*W pixels.
 */

/** The GEMM kernel families (conv2d.ts adds 'direct'). */
export type GemmVariant = Exclude<KernelVariant, 'direct'>;

const packKernel = defineKernel('conv2d_pack', packSource);
const gemmKernel = defineKernel('conv2d_gemm', gemmSource);
const sgKernel = defineKernel('conv2d_gemm_sg', sgSource);
const WG = 256;
const MAX_WG_PER_DIM = 65535;

/**
 * What a conv's store applies, in this order: + bias, * scale + shift (inference batch-norm), + residual
 * (a tensor of the output's shape), * [mask > 0] (backward to the input through the ReLU whose output
 * `mask` is), ReLU. The subgroup kernels and Winograd fuse all of it; the others fuse bias and ReLU, and
 * conv2d.ts runs the rest as separate passes.
 */
export interface Epilogue {
  bias?: Tensor | null;
  scale?: Tensor | null;
  shift?: Tensor | null;
  residual?: Tensor | null;
  mask?: Tensor | null;
  relu?: boolean;
}

/** Whether an epilogue needs more than bias and ReLU (the kernels `fusesWholeEpilogue` names). */
export function needsWholeEpilogue(epi: Epilogue): boolean {
  return !!(epi.scale || epi.residual || epi.mask);
}

/** The override constants of an epilogue (conv2d_gemm_sg.wgsl and winograd.wgsl share them). */
export function epilogueConstants(epi: Epilogue): Record<string, number> {
  return {
    HAS_BIAS: epi.bias ? 1 : 0,
    AFFINE: epi.scale ? 1 : 0,
    RESIDUAL: epi.residual ? 1 : 0,
    MASK: epi.mask ? 1 : 0,
    ACT: epi.relu ? 1 : 0,
  };
}

/**
 * Adds the epilogue's tensor bindings to `bindings` and returns it; `unused` (any buffer) stands in for
 * what the epilogue lacks. `v4`: the vec4 names. Fills the caller's object rather than returning one to
 * spread: this runs once per conv dispatch.
 */
export function withEpilogueBindings(bindings: Record<string, Tensor>, epi: Epilogue, unused: Tensor, v4 = false): Record<string, Tensor> {
  bindings.bias = epi.bias ?? unused;
  bindings.scale = epi.scale ?? unused;
  bindings.shift = epi.shift ?? unused;
  bindings[v4 ? 'res4' : 'res'] = epi.residual ?? unused;
  bindings[v4 ? 'mask4' : 'mask'] = epi.mask ?? unused;
  return bindings;
}

/** Whether a tile configuration's kernel fuses the whole epilogue (scale, shift and residual too). */
export function fusesWholeEpilogue(cfg: TileConfig): boolean {
  return cfg.kernel === sgKernel;
}

/** One GEMM-shaped conv: stride-1 phases of backward-to-input are convs of this kind too. */
export interface GemmConv {
  N: number;
  G: number;
  Ci: number;
  Co: number; // input / output channels per group
  XC: number;
  XH: number;
  XW: number; // input tensor (N, XC, XH, XW)
  Ho: number;
  Wo: number; // output grid
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  rowOrigin: number;
  colOrigin: number; // input position read by grid pixel (0, 0) at tap (0, 0)
  YH: number;
  YW: number;
  YSH: number;
  YSW: number;
  YRH: number;
  YRW: number;
  /**
   * Grid images per image of y (default 1) and the pixels each one's outputs are offset by within its
   * plane (default 0): the subgroup kernels' GEMM over `im2col_quads` columns, one grid image of 4
   * pixels per quad.
   */
  YNB?: number;
  YPB?: number;
  /** FLOPs profiles report for it; Winograd's products report the direct conv's (effective rates). */
  flops?: number;
  /**
   * 2: one row phase of backward to the input of a stride-2 3x3 conv at padding 1 along W, every column of
   * dx (`Wo` = 2 `XW`), taps 2 - q along W (`mid_t2_rows`; the subgroup kernels only).
   */
  transposedStrideW?: 2;
}

/**
 * A 1x1 conv with no spatial structure as the GEMM kernels see it: one row of `width` pixels per image,
 * so no lanes are wasted at row ends and the subgroup kernel loads pixels as vec4s. Pointwise convs and
 * Winograd's products both run this way.
 */
export function pointwiseGemm(N: number, G: number, Ci: number, Co: number, XC: number, width: number): GemmConv {
  // prettier-ignore
  return {
    N, G, Ci, Co, XC, XH: 1, XW: width, Ho: 1, Wo: width,
    KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, rowOrigin: 0, colOrigin: 0,
    YH: 1, YW: width, YSH: 1, YSW: 1, YRH: 0, YRW: 0,
  };
}

export interface TileConfig {
  variant: GemmVariant;
  TM: number; // output pixels per lane (along a row)
  TN: number; // output channels per tile
  tilesPerWorkgroup: number;
  kernel: Kernel;
  entry: string;
}

export function tileConfig(variant: GemmVariant, c: GemmConv): TileConfig {
  if (c.transposedStrideW === 2) {
    if (variant !== 'subgroup') throw new Error(`conv2d: internal error: no ${variant} kernel for a transposed-rows job`);
    return { variant, TM: 8, TN: 16, tilesPerWorkgroup: 8, kernel: sgKernel, entry: 'mid_t2_rows' };
  }
  if (variant === 'subgroup') {
    const s1 = c.SW === 1 && c.DW === 1;
    if (c.Co <= 8) {
      const entry = s1 ? (alignedRows(c) ? 'narrow_s1_rows' : 'narrow_s1') : 'narrow_any';
      return { variant, TM: 8, TN: 4, tilesPerWorkgroup: 8, kernel: sgKernel, entry };
    }
    const shape =
      c.KH === 1 && c.KW === 1 ? (c.XH === 1 && c.XW % 4 === 0 && c.SW === 1 && c.colOrigin === 0 ? 'flat_v4' : '1x1') : s1 ? 's1' : 'any';
    const rows = shape === 's1' && alignedRows(c);
    // 9..16 channels: 8 pixels x 16 channels per lane rather than a half-empty 4 x 32 tile. The 3-tap
    // rows run on this tile up to 64 channels too (one channel tile per 16): mid_s1_rows ran 1.05-1.15x
    // faster than wide_s1_rows on 32 channels at batch 1-250 and 1.0-1.25x on 64 (GPU time, medians
    // of 15 interleaved pairs, December 2026), while at 96-128 wide_s1_rows was up to 1.25x ahead.
    if (c.Co <= 16 || (rows && c.Co <= 64)) {
      const entry = rows ? 'mid_s1_rows' : `mid_${shape}`;
      return { variant, TM: 8, TN: 16, tilesPerWorkgroup: 8, kernel: sgKernel, entry };
    }
    const entry = rows ? 'wide_s1_rows' : alignedStride2Rows(c) ? 'wide_s2_rows' : `wide_${shape}`;
    return { variant, TM: 4, TN: 32, tilesPerWorkgroup: 8, kernel: sgKernel, entry };
  }
  return { variant, TM: 4, TN: 32, tilesPerWorkgroup: 16, kernel: gemmKernel, entry: variant === 'shared' ? 'shared_tiled' : 'tiled' };
}

/**
 * Three taps along W at padding 1, on rows of whole vec4s in and out: each lane's 4 or 8 pixels start on
 * a vec4, so `wide_s1_rows`, `mid_s1_rows` and `narrow_s1_rows` read their windows and store their
 * outputs as aligned vec4s.
 */
function alignedRows(c: GemmConv): boolean {
  return c.KW === 3 && c.colOrigin === -1 && c.XW % 4 === 0 && c.Wo === c.XW && c.YSW === 1 && c.YRW === 0 && c.YW % 4 === 0;
}

/** The same at stride 2 along W on input rows of whole pairs of vec4s: `wide_s2_rows`. */
export function alignedStride2Rows(c: GemmConv): boolean {
  return c.KW === 3 && c.SW === 2 && c.DW === 1 && c.colOrigin === -1 && c.XW % 8 === 0 && c.Wo * 2 === c.XW && c.YSW === 1 && c.YRW === 0;
}

/** True when a GEMM tile would be mostly padding (depthwise, very thin groups): use the direct kernel. */
export function gemmWasteful(Ci: number, Co: number, TN: number): boolean {
  const channelPad = (Math.ceil(Ci / 4) * 4) / Ci;
  const tilePad = (Math.ceil(Co / TN) * TN) / Co;
  return channelPad * tilePad > 8;
}

const PACK_DEFAULTS: ParamValues = {
  C: 0,
  H: 0,
  W: 0,
  G: 0,
  Cg: 0,
  C4: 0,
  Hp: 0,
  Wp: 0,
  padT: 0,
  padL: 0,
  Og: 0,
  KH: 0,
  KW: 0,
  NT: 0,
  TN: 0,
  JH: 0,
  JW: 0,
  kh0: 0,
  kw0: 0,
  TH: 0,
  TW: 0,
  total: 0,
};

/** Zero-padded, channels-last copy of a GEMM input, shared by the convs that read it. */
export interface PackedInput {
  xt: Tensor;
  padT: number;
  padL: number;
  Hp: number;
  Wp: number;
}

// x: (N, G*Ci, H, W) -> xt: (N, G, Hp, Wp, ceil(Ci/4)*4), xt[.., hp, wp, c] = x[.., c, hp - padT, wp - padL] or 0,
// covering every position the given convs read.
export function packInput(e: Engine, kernel: string, x: Tensor, convs: GemmConv[]): PackedInput {
  const { G, Ci } = convs[0];
  const padT = Math.max(0, ...convs.map((c) => -c.rowOrigin));
  const padL = Math.max(0, ...convs.map((c) => -c.colOrigin));
  const Hp = Math.max(...convs.map((c) => c.rowOrigin + padT + (c.Ho - 1) * c.SH + (c.KH - 1) * c.DH + 1));
  const Wp = Math.max(...convs.map((c) => c.colOrigin + padL + (c.Wo - 1) * c.SW + (c.KW - 1) * c.DW + 1));
  // The convs may view x with another spatial shape (a pointwise conv's plane as one row).
  const N = x.shape[0];
  const { XC: C, XH: H, XW: W } = convs[0];
  const C4 = Math.ceil(Ci / 4);
  const total = N * G * Hp * Wp * C4;
  checkBinding(e, kernel, 'packed input', [N, G, Hp, Wp, C4 * 4], x.shape);
  const xt = e.empty([total * 4], 'f32', `${kernel}.packed_input`);
  e.dispatch({
    kernel: packKernel,
    entry: 'pack_input',
    bindings: { x, xt },
    params: { ...PACK_DEFAULTS, C, H, W, G, Cg: Ci, C4, Hp, Wp, padT, padL, total },
    workgroups: grid1d(total, WG),
    constants: { WG },
    op: kernel,
  });
  return { xt, padT, padL, Hp, Wp };
}

function checkBinding(e: Engine, kernel: string, what: string, shape: number[], from: readonly number[]): void {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  if (bytes > e.maxBindingBytes) {
    throw new GpuLimitError(
      `${kernel}: the ${what} ${formatShape(shape)} for input ${formatShape(from)} needs ${(bytes / 2 ** 20).toFixed(1)} MiB, over ${e.bindingLimitName()}; use a smaller batch`,
    );
  }
}

/**
 * How a GEMM reads an original weight (conv2d_pack.wgsl MODE): 0 forward as is; 1 backward to the
 * input, transposed and flipped (and subsampled to one phase); 2 columns, a 1x1 GEMM from the O
 * channels of dy to the C*KH*KW columns of the input's patches.
 */
export interface WeightView {
  mode: 0 | 1 | 2;
  JH: number;
  JW: number; // GEMM kernel size
  kh0: number;
  kw0: number;
  TH: number;
  TW: number; // backward: original tap of GEMM tap j is k0 + (J-1-j)*T
}

// ---------------------------------------------------------------- packed-weight cache

interface EngineCache {
  byStorage: Map<Storage, Map<string, Tensor>>;
}

const caches = new WeakMap<Engine, EngineCache>();

function engineCache(e: Engine): EngineCache {
  let c = caches.get(e);
  if (!c) {
    c = { byStorage: new Map() };
    caches.set(e, c);
  }
  return c;
}

/** Frees packed copies of weights their owner has released (and those of freed derived weights). */
function sweep(e: Engine, c: EngineCache): void {
  let again = true;
  while (again) {
    again = false;
    for (const [storage, packs] of c.byStorage) {
      if (!storage.released) continue;
      for (const t of packs.values()) e.release(t);
      c.byStorage.delete(storage);
      again = true;
    }
  }
}

/** Frees the packed copies of one weight (after changing it in place) or, without `w`, of all weights. */
export function releaseConv2dWeightCache(e: Engine, w?: Tensor): void {
  const c = engineCache(e);
  for (const [storage, packs] of c.byStorage) {
    if (w && storage !== w.storage) continue;
    for (const t of packs.values()) e.release(t);
    c.byStorage.delete(storage);
  }
  // A derived weight (Winograd's transform) has packed copies of its own.
  sweep(e, c);
}

/**
 * A tensor derived from weight `w` (a packed copy, Winograd's packed transform), made once by `make`
 * and cached until w is released (freed at the next packing) or releaseConv2dWeightCache.
 */
export function derivedWeight(e: Engine, w: Tensor, key: string, make: () => Tensor): Tensor {
  const c = engineCache(e);
  let packs = c.byStorage.get(w.storage);
  const hit = packs?.get(key);
  if (hit) return hit;
  sweep(e, c);
  const t = make();
  if (!packs) {
    packs = new Map();
    c.byStorage.set(w.storage, packs);
  }
  packs.set(key, t);
  return t;
}

// w: (G*Og, Cg, KH, KW) -> wt: k-steps for a GEMM with Ci inputs / Co outputs per group and tile TN
export function packedWeight(
  e: Engine,
  kernel: string,
  w: Tensor,
  G: number,
  Ci: number,
  Co: number,
  view: WeightView,
  TN: number,
): Tensor {
  const key = `${w.shape.join('x')}|${TN}|${G}|${view.mode}|${view.JH},${view.JW}|${view.kh0},${view.kw0}|${view.TH},${view.TW}`;
  return derivedWeight(e, w, key, () => packWeight(e, kernel, w, G, Ci, Co, view, TN));
}

/** Packs `w` (uncached): see packedWeight. */
export function packWeight(e: Engine, kernel: string, w: Tensor, G: number, Ci: number, Co: number, view: WeightView, TN: number): Tensor {
  const [O, Cg, KH, KW] = w.shape;
  const C4 = Math.ceil(Ci / 4);
  const NT = Math.ceil(Co / TN);
  const total = G * NT * view.JH * C4 * view.JW * 4 * TN;
  // A cache outlives the call that fills it: out of every release scope.
  const wt = e.persist(e.empty([total], 'f32', `${kernel}.packed_weight`));
  e.dispatch({
    kernel: packKernel,
    entry: 'pack_weight',
    bindings: { w, wt },
    params: {
      ...PACK_DEFAULTS,
      G,
      C4,
      Cg,
      Og: O / G,
      KH,
      KW,
      NT,
      TN,
      JH: view.JH,
      JW: view.JW,
      kh0: view.kh0,
      kw0: view.kw0,
      TH: view.TH,
      TW: view.TW,
      total,
    },
    workgroups: grid1d(total, WG),
    constants: { WG, MODE: view.mode },
    op: kernel,
  });
  return wt;
}

/**
 * The flat GEMMs (1x1 convs, Winograd's products) with at least 4 channel tiles run their workgroups in
 * bands of 8 tile groups, every channel tile of a band before the next band (BAND in
 * conv2d_gemm_sg.wgsl), so that a band's input columns are re-read from the cache rather than streamed
 * once per channel tile. Measured on lavapipe (GPU time, medians of interleaved runs, December 2026):
 * ResNet-50's 64 -> 256 1x1 on 56x56 at batch 8 1.25-1.34x, VGG-16 and ResNet-50 forward at batch 8
 * 1.04-1.07x; batch 1 and RISE on the CIFAR ResNet-20 within the noise. GEMMs with 2 channel tiles keep
 * the plain order: the reorder measured 0.83-1.07x on them, depending on the band size.
 */
const FLAT_BAND = 8;
const FLAT_BAND_MIN_CHANNEL_TILES = 4;

/**
 * Tile groups one workgroup runs in turn (REPS in conv2d_gemm_sg.wgsl): `mid_s1_rows` loads its weights
 * for the first and keeps them on the stack for the rest, where reading them costs less than the storage
 * load, which bounds-checks every lane. For convs whose weights fit the cache (3x3s with up to 32 input channels), as
 * many groups as leave 64 workgroups or more: CIFAR's 16-channel 3x3 at batch 250 1.07x with 8 groups
 * and 1.10x with 16 (with 2, 0.98x: caching costs a store per weight), 16 -> 32 channels 1.10x, 32 -> 32
 * 1.06x (medians of interleaved runs, December 2026).
 */
function tileGroupsPerWorkgroup(cfg: TileConfig, c: GemmConv, workgroups: number): number {
  if (cfg.entry !== 'mid_s1_rows') return 1;
  // vec4s of weights per lane a workgroup keeps for its later tile groups
  const cache = sgKernel.reflection.constants.get('MID_WEIGHT_CACHE');
  if (cache === undefined) throw new Error('conv2d: internal error: conv2d_gemm_sg.wgsl declares no MID_WEIGHT_CACHE');
  if (c.KH * 2 * Math.ceil(c.Ci / 4) * 3 > cache) return 1;
  for (const reps of [16, 8, 4]) if (workgroups / reps >= 64) return reps;
  return 1;
}

/**
 * Runs one GEMM conv. The subgroup kernels read `x` itself; the others read the packed copy `packed`
 * (made by `packInput` for this conv, or for a set of convs over the same input).
 */
export function dispatchGemm(
  e: Engine,
  op: string,
  cfg: TileConfig,
  c: GemmConv,
  x: Tensor,
  packed: PackedInput | null,
  wt: Tensor,
  y: Tensor,
  epi: Epilogue,
): void {
  const bias = epi.bias ?? null;
  const WT = Math.ceil(c.Wo / cfg.TM);
  const tiles = c.N * c.Ho * WT;
  const NT = Math.ceil(c.Co / cfg.TN);
  const C4 = Math.ceil(c.Ci / 4);
  const reps = tileGroupsPerWorkgroup(cfg, c, Math.ceil(tiles / cfg.tilesPerWorkgroup) * c.G * NT);
  const groups = Math.ceil(tiles / (cfg.tilesPerWorkgroup * reps));
  const gx = Math.min(groups, MAX_WG_PER_DIM);
  const gz = Math.ceil(groups / gx);
  if (c.G * NT > MAX_WG_PER_DIM || gz > MAX_WG_PER_DIM) {
    throw new GpuLimitError(`conv2d: ${c.G} groups x ${NT} channel tiles or ${tiles} pixel tiles exceed the dispatch grid`);
  }
  // One object the branches extend in place: spreading it into a new literal per dispatch was the
  // costliest line of the host's encoding.
  const params: ParamValues = {
    tiles,
    WT,
    Ho: c.Ho,
    Wo: c.Wo,
    G: c.G,
    NT,
    C4,
    KH: c.KH,
    KW: c.KW,
    SH: c.SH,
    SW: c.SW,
    DH: c.DH,
    DW: c.DW,
    Og: c.Co,
    YH: c.YH,
    YW: c.YW,
    YSH: c.YSH,
    YSW: c.YSW,
    YRH: c.YRH,
    YRW: c.YRW,
  };
  const whole = fusesWholeEpilogue(cfg);
  if (!whole && needsWholeEpilogue(epi)) throw new Error(`${op}: internal error: ${cfg.entry} does not fuse scale/shift/residual/mask`);
  const constants: Record<string, number> = whole ? epilogueConstants(epi) : { HAS_BIAS: bias ? 1 : 0, ACT: epi.relu ? 1 : 0 };
  // Rows that never straddle two workgroups of 8 lane tiles pass their edge pixels between lanes.
  if (cfg.entry.endsWith('_rows') && 8 % WT === 0) constants.EDGE_SHUFFLE = 1;
  if (cfg.kernel === sgKernel && cfg.entry.endsWith('flat_v4') && NT >= FLAT_BAND_MIN_CHANNEL_TILES) constants.BAND = FLAT_BAND;
  if (reps > 1) constants.REPS = reps;
  const workgroups: [number, number, number] = [gx, c.G * NT, gz];
  const flops = c.flops ?? 2 * c.N * c.G * c.Ho * c.Wo * c.Co * c.Ci * c.KH * c.KW;
  if (cfg.kernel === sgKernel) {
    // Entries that read x or write y as vec4s bind them as such.
    const v4 = cfg.entry.endsWith('flat_v4') || cfg.entry.endsWith('_rows');
    e.dispatch({
      kernel: cfg.kernel,
      entry: cfg.entry,
      bindings: v4 ? withEpilogueBindings({ x4: x, y4: y, wt }, epi, wt, true) : withEpilogueBindings({ x, y, wt }, epi, wt),
      params: Object.assign(params, {
        Ci: c.Ci,
        XC: c.XC,
        XH: c.XH,
        XW: c.XW,
        OH0: c.rowOrigin,
        OW0: c.colOrigin,
        YNB: c.YNB ?? 1,
        YPB: c.YPB ?? 0,
      }),
      workgroups,
      constants,
      op,
      variant: cfg.variant,
      flops,
    });
    return;
  }
  if (!packed) throw new Error('conv2d: internal error: packed input missing');
  if ((c.YNB ?? 1) !== 1) throw new Error(`conv2d: internal error: ${cfg.entry} cannot store grid images into blocks of y`);
  const xoff = ((c.rowOrigin + packed.padT) * packed.Wp + (c.colOrigin + packed.padL)) * C4;
  e.dispatch({
    kernel: cfg.kernel,
    entry: cfg.entry,
    bindings: { xt: packed.xt, wt, bias: bias ?? wt, y },
    params: Object.assign(params, { Hp: packed.Hp, Wp: packed.Wp, xoff }),
    workgroups,
    constants,
    op,
    variant: cfg.variant,
    flops,
  });
}

/**
 * Runs GEMM convs that read the same input `x` and the same weight `w` (one conv, or the phases of a
 * backward pass), each with its own view of the weight, into `y`.
 */
export const runGemms = scoped(function runGemms(
  e: Engine,
  kernel: string,
  variant: GemmVariant,
  x: Tensor,
  w: Tensor,
  jobs: { conv: GemmConv; view: WeightView }[],
  y: Tensor,
  epi: Epilogue = {},
): void {
  if (jobs.length === 0) return;
  const packed =
    variant === 'subgroup'
      ? null
      : packInput(
          e,
          kernel,
          x,
          jobs.map((j) => j.conv),
        );
  for (const { conv, view } of jobs) {
    const cfg = tileConfig(variant, conv);
    const wt = packedWeight(e, kernel, w, conv.G, conv.Ci, conv.Co, view, cfg.TN);
    dispatchGemm(e, kernel, cfg, conv, x, packed, wt, y, epi);
  }
  if (packed) e.release(packed.xt);
});

/** Runs one GEMM conv whose weight is already packed for `variant` (`tileConfig(variant, conv).TN`). */
export function runPackedGemm(
  e: Engine,
  kernel: string,
  variant: GemmVariant,
  x: Tensor,
  wt: Tensor,
  conv: GemmConv,
  y: Tensor,
  epi: Epilogue = {},
): void {
  const packed = variant === 'subgroup' ? null : packInput(e, kernel, x, [conv]);
  dispatchGemm(e, kernel, tileConfig(variant, conv), conv, x, packed, wt, y, epi);
  if (packed) e.release(packed.xt);
}
