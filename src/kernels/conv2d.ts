import directSource from '../../shaders/conv2d.wgsl?raw';
import gemmSource from '../../shaders/conv2d_gemm.wgsl?raw';
import sgSource from '../../shaders/conv2d_gemm_sg.wgsl?raw';
import packSource from '../../shaders/conv2d_pack.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, GpuLimitError, KernelInputError } from '../gpu/errors.js';
import { defineKernel, type ParamValues } from '../gpu/kernel.js';
import type { Storage, Tensor } from '../gpu/tensor.js';
import { assertDType, assertRank } from './shape-checks.js';

/**
 * conv2d with PyTorch's nn.functional.conv2d semantics (cross-correlation, zero padding, floor output
 * size, dilation, groups including depthwise), forward, backward to the input and backward to the weights.
 *
 * Kernel variants (all checked against one CPU reference and against each other in test/kernels):
 *   'subgroup' implicit GEMM sharing weights across a subgroup with subgroupBroadcast
 *              (conv2d_gemm_sg.wgsl); the fast one on lavapipe / software adapters.
 *   'tiled'    implicit GEMM, register tiles, no subgroups: the fallback without the feature.
 *   'shared'   implicit GEMM, workgroup-shared-memory tiles: the classic shape for real GPUs.
 *   'direct'   one invocation per output element (conv2d.wgsl); used for depthwise and other thin
 *              groups, where a GEMM tile would be mostly padding, and as the plain cross-check.
 * `selectConv2dVariant(engine)` picks one per adapter; `opts.variant` overrides it (tests, benchmarks).
 *
 * The GEMM variants read a packed copy of the input (channels-last, zero-padded; one cheap pass per
 * call) and of the weights. Packed weights are cached per weight tensor (keyed on its storage) and
 * per layout, so a model pays for them once; `prepareConv2dWeight` fills the cache ahead of time.
 * The cache assumes weights are immutable: after overwriting a weight in place (engine.write) call
 * `releaseConv2dWeightCache(e, w)`. Cached copies of released weights are freed at the next conv call.
 */

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  activation?: 'none' | 'relu';
  /** Force a kernel variant instead of `selectConv2dVariant(engine)` (tests and benchmarks). */
  variant?: Conv2dVariant;
}

export type Conv2dVariant = 'subgroup' | 'tiled' | 'shared' | 'direct';

const directKernel = defineKernel('conv2d', directSource);
const packKernel = defineKernel('conv2d_pack', packSource);
const gemmKernel = defineKernel('conv2d_gemm', gemmSource);
const sgKernel = defineKernel('conv2d_gemm_sg', sgSource);
const WG = 256;
const MAX_WG_PER_DIM = 65535;

// ---------------------------------------------------------------- geometry and validation

/** Everything about one conv's shapes, resolved and validated. */
interface Geometry {
  N: number; C: number; H: number; W: number;
  O: number; Cg: number; Og: number; G: number;
  KH: number; KW: number;
  SH: number; SW: number; PH: number; PW: number; DH: number; DW: number;
  Ho: number; Wo: number;
}

function pair(kernel: string, name: string, v: number | [number, number] | undefined, dflt: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v === 'object' && (!Array.isArray(v) || v.length !== 2)) || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new KernelInputError(`${kernel}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

function shapeOk(shape: readonly number[]): boolean {
  return shape.every((d) => Number.isInteger(d) && d > 0);
}

function resolve(kernel: string, xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions = {}): Geometry {
  if (xShape.length !== 4) throw new KernelInputError(`${kernel}: input must have rank 4 (N, C, H, W), got ${formatShape(xShape)}`);
  if (wShape.length !== 4) throw new KernelInputError(`${kernel}: weight must have rank 4 (O, C/groups, KH, KW), got ${formatShape(wShape)}`);
  if (!shapeOk(xShape) || !shapeOk(wShape)) {
    throw new KernelInputError(`${kernel}: zero-size or non-integer shape: input ${formatShape(xShape)}, weight ${formatShape(wShape)}`);
  }
  const [N, C, H, W] = xShape;
  const [O, Cg, KH, KW] = wShape;
  const G = opts.groups ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new KernelInputError(`${kernel}: groups must be a positive integer, got ${G}`);
  if (C % G !== 0 || O % G !== 0) {
    throw new KernelInputError(`${kernel}: groups=${G} must divide both input channels ${C} and output channels ${O} (input ${formatShape(xShape)}, weight ${formatShape(wShape)})`);
  }
  if (Cg * G !== C) {
    throw new KernelInputError(`${kernel}: channel mismatch: input ${formatShape(xShape)} has ${C} channels but weight ${formatShape(wShape)} expects ${Cg} x groups=${G} = ${Cg * G}`);
  }
  const [SH, SW] = pair(kernel, 'stride', opts.stride, 1, 1);
  const [PH, PW] = pair(kernel, 'padding', opts.padding, 0, 0);
  const [DH, DW] = pair(kernel, 'dilation', opts.dilation, 1, 1);
  const Ho = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
  const Wo = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new KernelInputError(
      `${kernel}: kernel ${KH}x${KW} (dilation ${DH}x${DW}) is larger than the padded input ${H + 2 * PH}x${W + 2 * PW} (input ${formatShape(xShape)}, padding ${PH}x${PW}); output size would be ${Ho}x${Wo}`,
    );
  }
  if (opts.activation !== undefined && opts.activation !== 'none' && opts.activation !== 'relu') {
    throw new KernelInputError(`${kernel}: activation must be 'none' or 'relu', got ${JSON.stringify(opts.activation)}`);
  }
  return { N, C, H, W, O, Cg, Og: O / G, G, KH, KW, SH, SW, PH, PW, DH, DW, Ho, Wo };
}

/** Output shape (N, O, Ho, Wo) of conv2d for the given input and weight shapes; throws on bad geometry. */
export function conv2dOutputShape(inputShape: readonly number[], weightShape: readonly number[], opts: Conv2dOptions = {}): [number, number, number, number] {
  const g = resolve('conv2d', inputShape, weightShape, opts);
  return [g.N, g.O, g.Ho, g.Wo];
}

/** Multiply-adds x 2 of the forward pass (the same count for backward to the input): 2*N*O*Ho*Wo*(C/g)*KH*KW. */
export function conv2dFlops(inputShape: readonly number[], weightShape: readonly number[], opts: Conv2dOptions = {}): number {
  const g = resolve('conv2d', inputShape, weightShape, opts);
  return 2 * g.N * g.O * g.Ho * g.Wo * g.Cg * g.KH * g.KW;
}

// ---------------------------------------------------------------- variant selection

/**
 * The variant that suits this adapter: software adapters (lavapipe, SwiftShader) pay ~8 instructions
 * per loaded float but one per subgroup broadcast, so they get 'subgroup'; without the subgroups
 * feature (or with subgroups narrower than 8) 'tiled'; real GPUs 'shared'.
 */
export function selectConv2dVariant(e: Engine): Conv2dVariant {
  if (!subgroupsUsable(e)) return 'tiled';
  return e.adapter.isSoftware ? 'subgroup' : 'shared';
}

function subgroupsUsable(e: Engine): boolean {
  if (!e.device.features.has('subgroups')) return false;
  // The subgroup kernels run one 8-invocation workgroup as one subgroup.
  const min = (e.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
  return min === undefined || min >= 8;
}

function variantFor(e: Engine, kernel: string, opts: Conv2dOptions): Conv2dVariant {
  const v = opts.variant ?? selectConv2dVariant(e);
  if (!['subgroup', 'tiled', 'shared', 'direct'].includes(v)) throw new KernelInputError(`${kernel}: unknown variant ${JSON.stringify(v)}`);
  if (v === 'subgroup' && !subgroupsUsable(e)) {
    throw new KernelInputError(`${kernel}: variant 'subgroup' needs the subgroups feature with subgroups of at least 8 invocations; this adapter has none`);
  }
  return v;
}

// ---------------------------------------------------------------- GEMM plumbing

/** One GEMM-shaped conv: stride-1 phases of backward-to-input are convs of this kind too. */
interface GemmConv {
  N: number; G: number;
  Ci: number; Co: number;          // input / output channels per group
  Ho: number; Wo: number;          // output grid
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number;
  Hp: number; Wp: number;          // packed input size
  rowOrigin: number; colOrigin: number; // packed-input pixel read by grid (0, 0) at tap (0, 0)
  YH: number; YW: number; YSH: number; YSW: number; YRH: number; YRW: number;
}

interface TileConfig {
  TM: number;   // output pixels per lane (along a row)
  TN: number;   // output channels per tile
  tilesPerWorkgroup: number;
  kernel: typeof gemmKernel;
  entry: string;
}

function tileConfig(variant: Conv2dVariant, c: GemmConv): TileConfig {
  if (variant === 'subgroup') {
    const s1 = c.SW === 1 && c.DW === 1;
    if (c.Co <= 8) return { TM: 8, TN: 4, tilesPerWorkgroup: 8, kernel: sgKernel, entry: s1 ? 'narrow_s1' : 'narrow_any' };
    const entry = c.KH === 1 && c.KW === 1 ? 'wide_1x1' : s1 ? 'wide_s1' : 'wide_any';
    return { TM: 4, TN: 32, tilesPerWorkgroup: 8, kernel: sgKernel, entry };
  }
  return { TM: 4, TN: 32, tilesPerWorkgroup: 16, kernel: gemmKernel, entry: variant === 'shared' ? 'shared_tiled' : 'tiled' };
}

/** True when a GEMM tile would be mostly padding (depthwise, very thin groups): use the direct kernel. */
function gemmWasteful(Ci: number, Co: number, TN: number): boolean {
  const channelPad = (Math.ceil(Ci / 4) * 4) / Ci;
  const tilePad = (Math.ceil(Co / TN) * TN) / Co;
  return channelPad * tilePad > 8;
}

const PACK_DEFAULTS: ParamValues = {
  C: 0, H: 0, W: 0, G: 0, Cg: 0, C4: 0, Hp: 0, Wp: 0, padT: 0, padL: 0,
  Og: 0, KH: 0, KW: 0, NT: 0, TN: 0, JH: 0, JW: 0, kh0: 0, kw0: 0, TH: 0, TW: 0, total: 0,
};

// x: (N, G*Ci, H, W) -> xt: (N, G, Hp, Wp, ceil(Ci/4)*4), xt[.., hp, wp, c] = x[.., c, hp - padT, wp - padL] or 0
function packInput(e: Engine, kernel: string, x: Tensor, G: number, Ci: number, Hp: number, Wp: number, padT: number, padL: number): Tensor {
  const [N, C, H, W] = x.shape;
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
  });
  return xt;
}

function checkBinding(e: Engine, kernel: string, what: string, shape: number[], from: readonly number[]): void {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  if (bytes > e.limits.maxStorageBufferBindingSize) {
    throw new GpuLimitError(
      `${kernel}: the ${what} ${formatShape(shape)} for input ${formatShape(from)} needs ${(bytes / 2 ** 20).toFixed(1)} MiB, over this adapter's maxStorageBufferBindingSize ${(e.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(1)} MiB; use a smaller batch`,
    );
  }
}

/** How a GEMM reads an original weight: forward as is, or backward flipped/transposed/subsampled. */
interface WeightView {
  flip: boolean;
  JH: number; JW: number;   // GEMM kernel size
  kh0: number; kw0: number; TH: number; TW: number;   // backward: original tap of GEMM tap j is k0 + (J-1-j)*T
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

/** Frees packed copies of weights their owner has released. */
function sweep(e: Engine, c: EngineCache): void {
  for (const [storage, packs] of c.byStorage) {
    if (storage.released) {
      for (const t of packs.values()) e.release(t);
      c.byStorage.delete(storage);
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
}

// w: (G*Og, Cg, KH, KW) -> wt: k-steps for a GEMM with Ci inputs / Co outputs per group and tile TN
function packedWeight(e: Engine, kernel: string, w: Tensor, G: number, Ci: number, Co: number, view: WeightView, TN: number): Tensor {
  const c = engineCache(e);
  const key = `${w.shape.join('x')}|${TN}|${G}|${view.flip ? 1 : 0}|${view.JH},${view.JW}|${view.kh0},${view.kw0}|${view.TH},${view.TW}`;
  let packs = c.byStorage.get(w.storage);
  const hit = packs?.get(key);
  if (hit) return hit;
  sweep(e, c);
  const [O, Cg, KH, KW] = w.shape;
  const C4 = Math.ceil(Ci / 4);
  const NT = Math.ceil(Co / TN);
  const total = G * NT * view.JH * C4 * view.JW * 4 * TN;
  const wt = e.empty([total], 'f32', `${kernel}.packed_weight`);
  e.dispatch({
    kernel: packKernel,
    entry: 'pack_weight',
    bindings: { w, wt },
    params: { ...PACK_DEFAULTS, G, C4, Cg, Og: O / G, KH, KW, NT, TN, JH: view.JH, JW: view.JW, kh0: view.kh0, kw0: view.kw0, TH: view.TH, TW: view.TW, total },
    workgroups: grid1d(total, WG),
    constants: { FLIP: view.flip ? 1 : 0 },
  });
  if (!packs) {
    packs = new Map();
    c.byStorage.set(w.storage, packs);
  }
  packs.set(key, wt);
  return wt;
}

function dispatchGemm(
  e: Engine, cfg: TileConfig, c: GemmConv, xt: Tensor, wt: Tensor, bias: Tensor | null, y: Tensor, relu: boolean,
): void {
  const WT = Math.ceil(c.Wo / cfg.TM);
  const tiles = c.N * c.Ho * WT;
  const NT = Math.ceil(c.Co / cfg.TN);
  const C4 = Math.ceil(c.Ci / 4);
  const groups = Math.ceil(tiles / cfg.tilesPerWorkgroup);
  const gx = Math.min(groups, MAX_WG_PER_DIM);
  const gz = Math.ceil(groups / gx);
  if (c.G * NT > MAX_WG_PER_DIM || gz > MAX_WG_PER_DIM) {
    throw new GpuLimitError(`conv2d: ${c.G} groups x ${NT} channel tiles or ${tiles} pixel tiles exceed the dispatch grid`);
  }
  e.dispatch({
    kernel: cfg.kernel,
    entry: cfg.entry,
    bindings: { xt, wt, bias: bias ?? wt, y },
    params: {
      tiles, WT, Ho: c.Ho, Wo: c.Wo, G: c.G, NT, C4, KH: c.KH, KW: c.KW, SH: c.SH, SW: c.SW, DH: c.DH, DW: c.DW,
      Hp: c.Hp, Wp: c.Wp, xoff: (c.rowOrigin * c.Wp + c.colOrigin) * C4, Og: c.Co,
      YH: c.YH, YW: c.YW, YSH: c.YSH, YSW: c.YSW, YRH: c.YRH, YRW: c.YRW,
    },
    workgroups: [gx, c.G * NT, gz],
    constants: { HAS_BIAS: bias ? 1 : 0, ACT: relu ? 1 : 0 },
  });
}

function directParams(g: Geometry, total: number): ParamValues {
  return {
    N: g.N, C: g.C, H: g.H, W: g.W, O: g.O, Ho: g.Ho, Wo: g.Wo, KH: g.KH, KW: g.KW,
    SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW, DH: g.DH, DW: g.DW, Cg: g.Cg, Og: g.Og, total,
  };
}

// ---------------------------------------------------------------- forward

function forwardConv(g: Geometry): GemmConv {
  return {
    N: g.N, G: g.G, Ci: g.Cg, Co: g.Og, Ho: g.Ho, Wo: g.Wo, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW,
    Hp: (g.Ho - 1) * g.SH + (g.KH - 1) * g.DH + 1,
    Wp: (g.Wo - 1) * g.SW + (g.KW - 1) * g.DW + 1,
    rowOrigin: 0, colOrigin: 0,
    YH: g.Ho, YW: g.Wo, YSH: 1, YSW: 1, YRH: 0, YRW: 0,
  };
}

const FORWARD_VIEW = (g: Geometry): WeightView => ({ flip: false, JH: g.KH, JW: g.KW, kh0: 0, kw0: 0, TH: 1, TW: 1 });

// x: (N, C, H, W), w: (O, C/groups, KH, KW), bias: (O) or null -> y: (N, O, Ho, Wo)
export function conv2dForward(e: Engine, x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const kernel = 'conv2d.forward';
  assertRank(kernel, 'x', x, 4);
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'x', x, 'f32');
  assertDType(kernel, 'w', w, 'f32');
  const g = resolve(kernel, x.shape, w.shape, opts);
  if (bias) {
    assertDType(kernel, 'bias', bias, 'f32');
    if (bias.rank !== 1 || bias.shape[0] !== g.O) {
      throw new KernelInputError(`${kernel}: bias must have shape [${g.O}] for weight ${formatShape(w.shape)}, got ${formatShape(bias.shape)}`);
    }
  }
  const relu = (opts.activation ?? 'none') === 'relu';
  let variant = variantFor(e, kernel, opts);
  const conv = forwardConv(g);
  const cfg = variant === 'direct' ? null : tileConfig(variant, conv);
  if (cfg && gemmWasteful(conv.Ci, conv.Co, cfg.TN)) variant = 'direct';
  const y = e.empty([g.N, g.O, g.Ho, g.Wo], 'f32', 'conv2d.y');
  if (variant === 'direct' || !cfg) {
    e.dispatch({
      kernel: directKernel,
      entry: 'forward',
      bindings: { x, w, bias: bias ?? w, y },
      params: directParams(g, y.size),
      workgroups: grid1d(y.size, WG),
      constants: { HAS_BIAS: bias ? 1 : 0, ACT: relu ? 1 : 0 },
    });
    return y;
  }
  const wt = packedWeight(e, kernel, w, g.G, conv.Ci, conv.Co, FORWARD_VIEW(g), cfg.TN);
  const xt = packInput(e, kernel, x, g.G, conv.Ci, conv.Hp, conv.Wp, g.PH, g.PW);
  dispatchGemm(e, cfg, conv, xt, wt, bias, y, relu);
  e.release(xt);
  return y;
}

/**
 * Packs `w` for the GEMM kernels ahead of time (a model calls this once per conv at load), for the
 * forward pass and, with `backwardInput`, for backward to the input. Optional: conv2dForward packs
 * on first use. The packed copies live until `w` is released or `releaseConv2dWeightCache`.
 */
export function prepareConv2dWeight(e: Engine, w: Tensor, opts: Conv2dOptions & { backwardInput?: boolean } = {}): void {
  const kernel = 'conv2d.prepareWeight';
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'w', w, 'f32');
  const [O, Cg, KH, KW] = w.shape;
  const G = opts.groups ?? 1;
  // Any input large enough for the kernel gives the same packing.
  const g = resolve(kernel, [1, Cg * G, 1 + 2 * KH * 8, 1 + 2 * KW * 8], w.shape, opts);
  const variant = variantFor(e, kernel, opts);
  if (variant === 'direct') return;
  const conv = forwardConv(g);
  const cfg = tileConfig(variant, conv);
  if (!gemmWasteful(conv.Ci, conv.Co, cfg.TN)) packedWeight(e, kernel, w, G, Cg, O / G, FORWARD_VIEW(g), cfg.TN);
  if (opts.backwardInput) {
    for (const ph of backwardPhases(g, g.H, g.W)) {
      const bcfg = tileConfig(variant, ph.conv);
      if (!gemmWasteful(ph.conv.Ci, ph.conv.Co, bcfg.TN)) packedWeight(e, kernel, w, G, ph.conv.Ci, ph.conv.Co, ph.view, bcfg.TN);
    }
  }
}

// ---------------------------------------------------------------- backward to the input

/**
 * Backward to the input as transposed convs, one per output phase (r_h, r_w) in [0, SH) x [0, SW):
 * input pixel ih = i*SH + r_h receives dy[(ih + PH - kh*DH) / SH] * w[kh] over the taps kh with
 * (r_h + PH - kh*DH) divisible by SH. Those taps are kh0 + j*T (T = SH / gcd(SH, DH)) and read dy at
 * i + q0 - j*D' (D' = DH / gcd(SH, DH)), so each phase is a stride-1 conv of dy with a flipped,
 * subsampled kernel and dilation D' -- the forward GEMM again. Stride 1 is the single phase with the
 * whole kernel flipped and padding DH*(KH-1) - PH.
 */
interface AxisPhase {
  r: number; count: number;   // positions ih = i*S + r, i < count
  k0: number; J: number; T: number; D: number;
  origin: number;             // dy index read by i = 0 at GEMM tap 0
}

function axisPhases(S: number, P: number, D: number, K: number, size: number): AxisPhase[] {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const T = S / gcd(S, D);
  const Dp = D / gcd(S, D);
  const out: AxisPhase[] = [];
  for (let r = 0; r < S; r++) {
    const count = r < size ? Math.ceil((size - r) / S) : 0;
    let k0 = 0;
    while (k0 < K && (((r + P - k0 * D) % S) + S) % S !== 0) k0++;
    const J = k0 < K ? Math.floor((K - 1 - k0) / T) + 1 : 0;
    const q0 = (r + P - k0 * D) / S;
    out.push({ r, count, k0, J, T, D: Dp, origin: q0 - (J - 1) * Dp });
  }
  return out;
}

interface Phase {
  conv: GemmConv;
  view: WeightView;
}

/** The GEMM convs (with packed-input origins relative to a shared packing) for all non-empty phases. */
function backwardPhases(g: Geometry, H: number, W: number): Phase[] & { padT: number; padL: number; Hp: number; Wp: number; complete: boolean } {
  const rows = axisPhases(g.SH, g.PH, g.DH, g.KH, H);
  const cols = axisPhases(g.SW, g.PW, g.DW, g.KW, W);
  const liveRows = rows.filter((a) => a.count > 0 && a.J > 0);
  const liveCols = cols.filter((a) => a.count > 0 && a.J > 0);
  const complete = liveRows.length === rows.filter((a) => a.count > 0).length && liveCols.length === cols.filter((a) => a.count > 0).length;
  const padT = -Math.min(0, ...liveRows.map((a) => a.origin));
  const padL = -Math.min(0, ...liveCols.map((a) => a.origin));
  const Hp = Math.max(1, ...liveRows.map((a) => a.origin + padT + a.count + (a.J - 1) * a.D));
  const Wp = Math.max(1, ...liveCols.map((a) => a.origin + padL + a.count + (a.J - 1) * a.D));
  const phases: Phase[] = [];
  for (const a of liveRows) {
    for (const b of liveCols) {
      phases.push({
        conv: {
          N: g.N, G: g.G, Ci: g.Og, Co: g.Cg, Ho: a.count, Wo: b.count, KH: a.J, KW: b.J, SH: 1, SW: 1, DH: a.D, DW: b.D,
          Hp, Wp, rowOrigin: a.origin + padT, colOrigin: b.origin + padL,
          YH: H, YW: W, YSH: g.SH, YSW: g.SW, YRH: a.r, YRW: b.r,
        },
        view: { flip: true, JH: a.J, JW: b.J, kh0: a.k0, kw0: b.k0, TH: a.T, TW: b.T },
      });
    }
  }
  return Object.assign(phases, { padT, padL, Hp, Wp, complete });
}

// dy: (N, O, Ho, Wo), w: (O, C/groups, KH, KW) -> dx: (N, C, H, W) for inputShape (N, C, H, W)
export function conv2dBackwardInput(e: Engine, dy: Tensor, w: Tensor, inputShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const kernel = 'conv2d.backwardInput';
  assertRank(kernel, 'dy', dy, 4);
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'dy', dy, 'f32');
  assertDType(kernel, 'w', w, 'f32');
  const g = resolve(kernel, inputShape, w.shape, opts);
  const expected = [g.N, g.O, g.Ho, g.Wo];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new KernelInputError(`${kernel}: dy ${formatShape(dy.shape)} does not match the conv output ${formatShape(expected)} of input ${formatShape(inputShape)} and weight ${formatShape(w.shape)}`);
  }
  const variant = variantFor(e, kernel, opts);
  const phases = variant === 'direct' ? null : backwardPhases(g, g.H, g.W);
  const usable = phases && phases.every((p) => !gemmWasteful(p.conv.Ci, p.conv.Co, tileConfig(variant, p.conv).TN));
  if (!phases || !usable) {
    const dx = e.empty([g.N, g.C, g.H, g.W], 'f32', 'conv2d.dx');
    e.dispatch({ kernel: directKernel, entry: 'backward_input', bindings: { dy, w, dx }, params: directParams(g, dx.size), workgroups: grid1d(dx.size, WG) });
    return dx;
  }
  // Phases with no taps (kernel smaller than the stride) leave their pixels at zero.
  const dx = phases.complete ? e.empty([g.N, g.C, g.H, g.W], 'f32', 'conv2d.dx') : e.zeros([g.N, g.C, g.H, g.W], 'f32', 'conv2d.dx');
  if (phases.length === 0) return dx;
  const dyt = packInput(e, kernel, dy, g.G, g.Og, phases.Hp, phases.Wp, phases.padT, phases.padL);
  for (const p of phases) {
    const cfg = tileConfig(variant, p.conv);
    const wt = packedWeight(e, kernel, w, g.G, p.conv.Ci, p.conv.Co, p.view, cfg.TN);
    dispatchGemm(e, cfg, p.conv, dyt, wt, null, dx, false);
  }
  e.release(dyt);
  return dx;
}

// ---------------------------------------------------------------- backward to the weights

// x: (N, C, H, W), dy: (N, O, Ho, Wo) -> dw: (O, C/groups, KH, KW)
export function conv2dBackwardWeight(e: Engine, x: Tensor, dy: Tensor, weightShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const kernel = 'conv2d.backwardWeight';
  assertRank(kernel, 'x', x, 4);
  assertRank(kernel, 'dy', dy, 4);
  assertDType(kernel, 'x', x, 'f32');
  assertDType(kernel, 'dy', dy, 'f32');
  const g = resolve(kernel, x.shape, weightShape, opts);
  const expected = [g.N, g.O, g.Ho, g.Wo];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new KernelInputError(`${kernel}: dy ${formatShape(dy.shape)} does not match the conv output ${formatShape(expected)} of input ${formatShape(x.shape)} and weight ${formatShape(weightShape)}`);
  }
  const dw = e.empty([g.O, g.Cg, g.KH, g.KW], 'f32', 'conv2d.dw');
  e.dispatch({ kernel: directKernel, entry: 'backward_weight', bindings: { x, dy, dw }, params: directParams(g, dw.size), workgroups: grid1d(dw.size, WG) });
  return dw;
}
