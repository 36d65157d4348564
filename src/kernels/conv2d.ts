import directSource from '../../shaders/conv2d.wgsl?raw';
import { capabilities, KERNEL_VARIANTS, variantRuns, type Capabilities, type KernelVariant } from '../gpu/capabilities.js';
import { grid1d, type Engine } from '../gpu/engine.js';
import { formatShape, KernelInputError } from '../gpu/errors.js';
import { defineKernel, type ParamValues } from '../gpu/kernel.js';
import { shapeSize, type Tensor } from '../gpu/tensor.js';
import { prepareWinogradWeight, winogradConv3x3, winogradSuits, winogradTileFor, type WinogradConv } from './winograd.js';
import { channelAffineForward } from './channel-affine.js';
import {
  alignedStride2Rows,
  fusesWholeEpilogue,
  gemmWasteful,
  needsWholeEpilogue,
  packedWeight,
  pointwiseGemm,
  releaseConv2dWeightCache as releasePackedWeights,
  runGemms,
  tileConfig,
  type Epilogue,
  type GemmConv,
  type GemmVariant,
  type TileConfig,
  type WeightView,
} from './conv2d-gemm.js';
import { addRelu, binary } from './elementwise.js';
import { assertDType, assertRank } from './shape-checks.js';
import { scoped } from '../gpu/scopes.js';
import { releaseFoldedConv2dWeights } from './conv2d-fold.js';
import { assertRule, reluBackward, RULE_MASKS, type ReluRule } from './relu.js';
import {
  convFlops,
  gcd,
  isPointwise,
  resolveConv2d,
  resolvePair,
  type Conv2dGeometry,
  type Conv2dShapeOptions,
} from './conv2d-geometry.js';
import {
  backwardPhases,
  columnsJob,
  rowPhases,
  TRANSPOSED_POINTWISE,
  transposedRowsJobs,
  transposedRowsMayApply,
  transposedRowsPhases,
  type Job,
} from './conv2d-backward-jobs.js';

export { conv2dFlops, conv2dOutputShape } from './conv2d-geometry.js';

/**
 * Frees the copies the conv kernels derived from weight `w` (batch-norm folded, packed for the GEMMs,
 * Winograd-transformed) or, without `w`, from every weight: call it after overwriting a weight in place.
 */
export function releaseConv2dWeightCache(e: Engine, w?: Tensor): void {
  // Folded copies first: their own packed copies are then swept with w's.
  releaseFoldedConv2dWeights(e, w);
  releasePackedWeights(e, w);
}

/**
 * conv2d with PyTorch's nn.functional.conv2d semantics (cross-correlation, zero padding, floor output
 * size, dilation, groups including depthwise): forward (bias and ReLU fused), backward to the input,
 * backward to the weights.
 *
 * Kernel variants (the engine's vocabulary, src/gpu/capabilities.ts), all checked against one CPU
 * reference and against each other (test/kernels):
 *   'subgroup' implicit GEMM whose lanes share weights through subgroupBroadcast and read the NCHW
 *              input directly (conv2d_gemm_sg.wgsl): the fast one on lavapipe / software adapters.
 *   'register' implicit GEMM with register tiles and no subgroups: the fallback without the feature.
 *   'shared'   implicit GEMM with workgroup-shared-memory tiles: the classic shape for real GPUs.
 *   'direct'   one invocation per output element (conv2d.wgsl): depthwise and other thin groups,
 *              where a GEMM tile would be mostly padding, and the plain cross-check.
 * `selectConv2dVariant(engine)` follows the shared policy; `opts.variant` overrides it (tests, benchmarks).
 *
 * Backward to the input reuses the forward GEMM: stride 1 is one conv of dy with the flipped,
 * transposed kernel; stride s is s*s such convs, one per output phase, with subsampled kernels
 * (backwardPhases); inputs with few channels (the RGB stem) go through a pointwise GEMM into patch
 * columns and col2im instead. Those GEMM jobs are built in conv2d-backward-jobs.ts, from the geometry
 * conv2d-geometry.ts resolves; this file chooses among the paths and runs them. Backward to the
 * weights uses the direct kernel (it is not on the attribution path).
 *
 * Weights are packed for the GEMMs (conv2d_pack.wgsl) once per weight tensor and layout and cached,
 * keyed on the tensor's storage; `prepareConv2dWeight` fills the cache at model load. The cache assumes
 * weights are immutable: after overwriting one in place (engine.write) call
 * `releaseConv2dWeightCache(e, w)`. Packed copies of released weights are freed at the next packing.
 * The 'register' and 'shared' variants also pack the input (channels-last, zero-padded) on every call.
 */

export interface Conv2dOptions extends Conv2dShapeOptions {
  /** Force a kernel variant instead of `selectConv2dVariant(engine)` (tests and benchmarks). */
  variant?: Conv2dVariant;
  /**
   * Forward only: batch-norm (inference form, y * scale + shift per output channel) and a residual
   * tensor of the output's shape, applied after the bias and before the activation. Fused into the
   * conv's store on the subgroup and Winograd paths; separate passes elsewhere.
   */
  affine?: { scale: Tensor; shift: Tensor };
  residual?: Tensor;
  /**
   * Winograd F(2x2, 3x3) for stride-1 undilated ungrouped 3x3 convs (winograd.ts): 'auto' (default)
   * where it is faster (`winogradSuits`), true wherever it applies, false never. The 'direct' variant
   * never uses it.
   */
  winograd?: boolean | 'auto';
  /** Winograd's output tile: F(2x2, 3x3) or F(4x4, 3x3); default `winogradTileFor` (tests and benchmarks). */
  winogradTile?: 2 | 4;
}

/**
 * Backward to the input only: the conv's input is the output `y` of a ReLU, and the gradient is taken on
 * through that ReLU under `rule` (relu.ts), so dx is dL/d(the ReLU's input). `plus` is the gradient the
 * ReLU's output already received from its other readers (a residual block's shortcut), added first.
 * Fused into the store on the subgroup and Winograd paths up to `Engine.convBackwardEpilogueMaxBytes` of
 * dx (`reluInStore`); one ReLU-backward pass after the conv elsewhere.
 */
export interface InputRelu {
  y: Tensor;
  rule: ReluRule;
  plus?: Tensor;
}

export type Conv2dVariant = KernelVariant;

const directKernel = defineKernel('conv2d', directSource);
const WG = 256;
const COL2IM_WG = 32;
/** The row kernels' invocations (dispatchRows) each write a whole row: fewer of them, in smaller workgroups. */
const ROW_WG = 64;

// ---------------------------------------------------------------- variant selection

/** The variant this device runs (the policy every kernel family shares; capabilities.ts). */
export function conv2dVariantFor(caps: Capabilities): Conv2dVariant {
  return caps.preferredVariant;
}

export function selectConv2dVariant(e: Engine): Conv2dVariant {
  return conv2dVariantFor(capabilities(e));
}

function variantFor(e: Engine, kernel: string, opts: Conv2dOptions): Conv2dVariant {
  const v = opts.variant ?? selectConv2dVariant(e);
  if (!KERNEL_VARIANTS.includes(v)) {
    throw new KernelInputError(`${kernel}: unknown variant ${JSON.stringify(v)}; one of ${KERNEL_VARIANTS.join(', ')}`);
  }
  if (!variantRuns(capabilities(e), v)) {
    throw new KernelInputError(
      `${kernel}: variant 'subgroup' needs the subgroups feature with subgroups of at least 8 invocations; this adapter has none`,
    );
  }
  return v;
}

function directParams(g: Conv2dGeometry, total: number): ParamValues {
  return {
    N: g.N,
    C: g.C,
    H: g.H,
    W: g.W,
    O: g.O,
    Ho: g.Ho,
    Wo: g.Wo,
    KH: g.KH,
    KW: g.KW,
    SH: g.SH,
    SW: g.SW,
    PH: g.PH,
    PW: g.PW,
    DH: g.DH,
    DW: g.DW,
    Cg: g.Cg,
    Og: g.Og,
    Hq: Math.ceil(g.H / g.SH),
    Wq: Math.ceil(g.W / g.SW),
    TH: g.SH / gcd(g.SH, g.DH),
    TW: g.SW / gcd(g.SW, g.DW),
    DQH: g.DH / gcd(g.SH, g.DH),
    DQW: g.DW / gcd(g.SW, g.DW),
    HWp: paddedPlane(g),
    total,
  };
}

/** backward_input walks dx phase by phase, over a grid padded to whole phases. */
function phaseGrid(g: Conv2dGeometry): number {
  return g.N * g.C * g.SH * Math.ceil(g.H / g.SH) * g.SW * Math.ceil(g.W / g.SW);
}

// ---------------------------------------------------------------- forward

function forwardConv(g: Conv2dGeometry): GemmConv {
  // A 1x1, stride-1, unpadded conv has no spatial structure.
  if (isPointwise(g)) return pointwiseGemm(g.N, g.G, g.Cg, g.Og, g.C, g.H * g.W);
  return {
    N: g.N,
    G: g.G,
    Ci: g.Cg,
    Co: g.Og,
    XC: g.C,
    XH: g.H,
    XW: g.W,
    Ho: g.Ho,
    Wo: g.Wo,
    KH: g.KH,
    KW: g.KW,
    SH: g.SH,
    SW: g.SW,
    DH: g.DH,
    DW: g.DW,
    rowOrigin: -g.PH,
    colOrigin: -g.PW,
    YH: g.Ho,
    YW: g.Wo,
    YSH: 1,
    YSW: 1,
    YRH: 0,
    YRW: 0,
  };
}

/** The way conv2dForward computes a conv: Winograd, patch columns + one GEMM, an implicit GEMM, or the direct kernel. */
type ForwardPath =
  { kind: 'winograd'; wino: WinogradConv } | { kind: 'columns' } | { kind: 'gemm'; job: Job; tile: TileConfig } | { kind: 'direct' };

function forwardPath(e: Engine, g: Conv2dGeometry, opts: Conv2dOptions, variant: Conv2dVariant): ForwardPath {
  if (variant === 'direct') return { kind: 'direct' };
  const wino = winogradForward(e, g, opts, variant);
  if (wino) return { kind: 'winograd', wino };
  const job = { conv: forwardConv(g), view: forwardView(g) };
  if (forwardColumnsSuit(e, g, variant, job.conv)) return { kind: 'columns' };
  return gemmSuits(variant, [job]) ? { kind: 'gemm', job, tile: tileConfig(variant, job.conv) } : { kind: 'direct' };
}

/**
 * The kernel conv2dForward runs for these shapes and options: 'winograd', 'columns' (patch columns and
 * the flat GEMM), 'direct', or the implicit GEMM's entry point (e.g. 'mid_s1_rows'). The graph asks it
 * where an epilogue's cost depends on the kernel (Engine.convEpilogueFusion 'rows').
 */
export function conv2dForwardKernel(e: Engine, xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions = {}): string {
  // conv2dForward's own name, so that bad shapes or options fail with the message it would give
  const kernel = 'conv2d.forward';
  const g = resolveConv2d(kernel, xShape, wShape, opts);
  const path = forwardPath(e, g, opts, variantFor(e, kernel, opts));
  return path.kind === 'gemm' ? path.tile.entry : path.kind;
}

/**
 * Elements per image of the largest buffer conv2dForward or conv2dBackwardInput makes for these shapes
 * beside x, y and their gradients that must fit one binding whole: for backward through a stride-2 3x3
 * that the transposed rows do not serve, dy spread over the input's grid (`spreadOverInput`: the path
 * once patch columns no longer fit); on the register and shared GEMMs, which read a padded copy with
 * each group's channels rounded up to 4 (`packInput`), that copy of x forward and of dy backward (padded
 * by up to the kernel's reach). The subgroup GEMMs read x and dy in place; patch columns and Winograd's
 * transforms check their own size and fall back or chunk. graph/pass-size.ts sizes batches with it, so
 * it errs large where a path depends on the batch.
 */
export function conv2dScratchPerImage(e: Engine, xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions = {}): number {
  const kernel = 'conv2d.forward';
  const g = resolveConv2d(kernel, [1, ...xShape.slice(1)], wShape, opts);
  const variant = variantFor(e, kernel, opts);
  if (variant === 'direct') return 0;
  const spread = spreadWinogradApplies(g) && !transposedRowsJobs(g, variant) ? g.O * g.H * g.W : 0;
  if (variant === 'subgroup') return spread;
  const packedX =
    forwardPath(e, g, opts, variant).kind === 'direct' ? 0 : g.G * 4 * Math.ceil(g.Cg / 4) * (g.H + 2 * g.PH) * (g.W + 2 * g.PW);
  const reachH = g.DH * (g.KH - 1);
  const reachW = g.DW * (g.KW - 1);
  const packedDy = gemmSuits(variant, backwardPhases(g).jobs)
    ? g.G * 4 * Math.ceil(g.Og / 4) * (g.Ho + 2 * reachH) * (g.Wo + 2 * reachW)
    : 0;
  return Math.max(spread, packedX, packedDy);
}

/** Whether the GEMM kernels suit every job; depthwise and other thin groups go to the direct kernels. */
function gemmSuits(variant: GemmVariant, jobs: { conv: GemmConv }[]): boolean {
  return jobs.every(({ conv }) => !gemmWasteful(conv.Ci, conv.Co, tileConfig(variant, conv).TN));
}

// x: (N, C, H, W), w: (O, C/groups, KH, KW), bias: (O) or null -> y: (N, O, Ho, Wo)
export const conv2dForward = scoped(function conv2dForward(
  e: Engine,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  opts: Conv2dOptions = {},
): Tensor {
  const kernel = 'conv2d.forward';
  assertRank(kernel, 'x', x, 4);
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'x', x, 'f32');
  assertDType(kernel, 'w', w, 'f32');
  const g = resolveConv2d(kernel, x.shape, w.shape, opts);
  if (bias) {
    assertDType(kernel, 'bias', bias, 'f32');
    if (bias.rank !== 1 || bias.shape[0] !== g.O) {
      throw new KernelInputError(
        `${kernel}: bias must have shape [${g.O}] for weight ${formatShape(w.shape)}, got ${formatShape(bias.shape)}`,
      );
    }
  }
  checkEpilogue(kernel, g, opts);
  const relu = (opts.activation ?? 'none') === 'relu';
  const epi: Epilogue = { bias, scale: opts.affine?.scale, shift: opts.affine?.shift, residual: opts.residual, relu };
  const variant = variantFor(e, kernel, opts);
  const path = forwardPath(e, g, opts, variant);
  const y = e.empty([g.N, g.O, g.Ho, g.Wo], 'f32', 'conv2d.y');
  if (path.kind === 'winograd') {
    winogradConv3x3(e, kernel, variant as GemmVariant, x, w, 0, path.wino, y, epi);
    return y;
  }
  const rest = needsWholeEpilogue(epi);
  if (path.kind === 'columns') return forwardThroughColumns(e, x, w, g, y, epi);
  if (path.kind === 'gemm') {
    const gv = variant as GemmVariant;
    if (!rest || fusesWholeEpilogue(path.tile)) {
      runGemms(e, kernel, gv, x, w, [path.job], y, epi);
      return y;
    }
    runGemms(e, kernel, gv, x, w, [path.job], y, { bias });
    return unfusedEpilogue(e, y, epi);
  }
  e.dispatch({
    kernel: directKernel,
    entry: 'forward',
    bindings: { x, w, bias: bias ?? w, y },
    params: directParams(g, y.size),
    workgroups: grid1d(y.size, WG),
    constants: { WG, HAS_BIAS: bias ? 1 : 0, ACT: relu && !rest ? 1 : 0 },
    op: kernel,
    variant: 'direct',
    flops: convFlops(g),
  });
  return rest ? unfusedEpilogue(e, y, epi) : y;
});

/**
 * Strided ungrouped convs (the ResNet stem, the stride-2 3x3 and 1x1 convs) run as explicit patch
 * columns and one flat GEMM on the subgroup kernels: the implicit GEMM's strided gathers held them at
 * 20-30 % of the FMA ceiling, the flat GEMM reads whole vec4s of pixels (about 60 %), and forming the
 * columns is one pass over memory. So do 1x1 convs whose planes are not whole vec4s (ResNet-50's 7x7
 * layer4, 49 pixels), which the flat GEMM could not read otherwise: their columns are the input with
 * each plane padded. Where Ho*Wo is not a multiple of 4, the columns' planes and the GEMM's output
 * planes are padded to whole vec4s and the output is unpadded after. Columns and the padded output
 * must each fit one binding.
 * The columns are laid out in pixel quads (`im2col_quads`: each quad's C*KH*KW vec4s together), so that
 * a lane's k-steps read one contiguous run rather than a vec4 from each of K planes. Against planes of
 * Ho*Wo (wall medians, two interleaved rounds, December 2026): ResNet-50's stem 11.9-12.2 -> 9.5-9.6 ms
 * at batch 1 and 101-103 -> 64-65 ms at batch 8, its 128-channel stride-2 3x3 9.0-9.3 -> 7.7-7.8 and
 * 61-64 -> 51-52 ms, the 2048 -> 512 1x1 on 7x7 the same at batch 1 and 24.3-24.6 -> 22.3-23.1 ms at 8.
 */
function forwardColumnsSuit(e: Engine, g: Conv2dGeometry, variant: Conv2dVariant, conv: GemmConv): boolean {
  const limit = e.maxBindingBytes;
  const needed = (g.SH > 1 || g.SW > 1 || (g.Ho * g.Wo) % 4 !== 0) && !stride2RowsSuit(g, conv);
  return columnsMayApply(g, variant) && needed && paddedColumnBytes(g) <= limit && g.N * g.O * paddedPlane(g) * 4 <= limit;
}

/**
 * Stride-2 3x3 convs of at most 32 input channels on rows of whole vec4s (CIFAR's downsampling 3x3s)
 * run the subgroup kernels' `wide_s2_rows` in place of patch columns: 1.4-2x faster on CIFAR ResNet-20's
 * two at batch 1, 8 and 250 (interleaved; 16 -> 32 channels at batch 250: 18.5 -> 12.5 ms), while
 * columns win from 64 channels up (ResNet-18's 64 -> 128 on 56x56: 2.33 against 2.72 ms at batch 1,
 * ResNet-50's 128-channel one 4.1 against 4.5 ms), where their GEMM's long K pays for the pass.
 */
function stride2RowsSuit(g: Conv2dGeometry, conv: GemmConv): boolean {
  return g.G === 1 && g.C <= 32 && g.O > 16 && alignedStride2Rows(conv);
}

/** Whether the columns path may serve this conv at some input size (prepareConv2dWeight packs for it then). */
function columnsMayApply(g: Conv2dGeometry, variant: Conv2dVariant): boolean {
  return variant === 'subgroup' && g.G === 1 && (g.SH > 1 || g.SW > 1 || isPointwise(g)) && g.O > 16 && g.C * g.KH * g.KW > 16;
}

/** A column plane's length: Ho*Wo rounded up to whole vec4s. */
function paddedPlane(g: Conv2dGeometry): number {
  return Math.ceil((g.Ho * g.Wo) / 4) * 4;
}

/**
 * The forward columns GEMM over `im2col_quads` columns: the weight (O, C, KH, KW) is already the
 * (O, C*KH*KW) matrix of a 1x1 conv, and each pixel quad is a grid image of 4 pixels whose outputs land
 * at pixel 4 * quad of y's planes (padded to HWp).
 */
function columnsForward(g: Conv2dGeometry, w: Tensor): { job: Job; w: Tensor } {
  const K = g.C * g.KH * g.KW;
  const HWp = paddedPlane(g);
  const view: WeightView = { mode: 0, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 };
  const quads = HWp / 4;
  const conv = { ...pointwiseGemm(g.N * quads, 1, K, g.O, K, 4), YW: HWp, YNB: quads, YPB: 4, flops: convFlops(g) };
  return { job: { conv, view }, w: w.reshape([g.O, K, 1, 1]) };
}

/**
 * What a quad reads of one input row in `im2col_quads_rows` (the offset of its first column in its vec4,
 * and how many aligned vec4s), or null where that entry does not apply: output and input rows must be
 * whole vec4s (a quad then lies in one output row, and a vec4 of the input row wholly inside it or
 * wholly padding), and the span at most RQ_MAX_NV vec4s. The pass is
 * then bound by its stores: ResNet-50's stem 1.8 -> 1.4-1.5 ms at batch 1 and 15 -> 13-14 ms at batch 8,
 * all its forward pass's column passes 10.2 -> 7.6 ms at batch 1 and 47.4 -> 45.3 at batch 8 (GPU time,
 * medians of 7, December 2026).
 */
function rowSpan(g: Conv2dGeometry): { offset: number; vec4s: number } | null {
  if (g.Wo % 4 !== 0 || g.W % 4 !== 0) return null;
  const offset = (4 - (g.PW % 4)) % 4;
  const vec4s = Math.floor((offset + 3 * g.SW + (g.KW - 1) * g.DW) / 4) + 1;
  return vec4s <= RQ_MAX_NV ? { offset, vec4s } : null;
}

/** conv2d.wgsl's RQ_MAX_NV: the most vec4s `im2col_quads_rows` holds per input row. */
const RQ_MAX_NV = 8;

/** Bytes of the forward pass's patch columns (N * HWp/4 pixel quads, C*KH*KW, 4). */
function paddedColumnBytes(g: Conv2dGeometry): number {
  return g.N * g.C * g.KH * g.KW * paddedPlane(g) * 4;
}

/** Bytes of backward's patch columns (N, C*KH*KW, Ho*Wo). */
function columnBytes(g: Conv2dGeometry): number {
  return g.N * g.C * g.KH * g.KW * g.Ho * g.Wo * 4;
}

/** The forward pass through patch columns into y; returns y, or a new tensor when the residual is added after. */
function forwardThroughColumns(e: Engine, x: Tensor, w: Tensor, g: Conv2dGeometry, y: Tensor, epi: Epilogue): Tensor {
  const kernel = 'conv2d.forward';
  const HWp = paddedPlane(g);
  const gemm = columnsForward(g, w);
  // The columns are the GEMM's input as columnsForward lays it out: one grid image per pixel quad.
  const { N, XC, XH, XW } = gemm.job.conv;
  const cols = e.empty([N, XC, XH, XW], 'f32', `${kernel}.columns`);
  const span = rowSpan(g);
  if (span === null) dispatchRows(e, kernel, 'im2col_quads', { x, quads: cols }, g, N);
  else {
    e.dispatch({
      kernel: directKernel,
      entry: 'im2col_quads_rows',
      bindings: { x4: x, quads: cols },
      params: directParams(g, N),
      workgroups: grid1d(N, ROW_WG),
      constants: { WG: ROW_WG, RQ_KW: g.KW, RQ_SW: g.SW, RQ_DW: g.DW, RQ_R: span.offset, RQ_NV: span.vec4s },
      op: kernel,
    });
  }
  if (HWp === g.Ho * g.Wo) {
    runGemms(e, kernel, 'subgroup', cols, gemm.w, [gemm.job], y, epi);
    e.release(cols);
    return y;
  }
  // Padded planes: the per-channel part of the epilogue runs in the GEMM, a residual (laid out like y)
  // after unpadding.
  const padded = e.empty([g.N, g.O, 1, HWp], 'f32', `${kernel}.padded_output`);
  const { residual, relu, ...perChannel } = epi;
  runGemms(e, kernel, 'subgroup', cols, gemm.w, [gemm.job], padded, residual ? perChannel : epi);
  e.release(cols);
  unpadPlanes(e, kernel, padded, g, y);
  e.release(padded);
  return residual ? unfusedEpilogue(e, y, { residual, relu }) : y;
}

/**
 * im2col of conv `g` from `src` into `patches` (N, C*KH*KW, 1, HWp), planes of pixels. Backward uses it
 * for a 1x1 conv, where it copies `src` with each plane padded to whole vec4s, whatever its channel
 * count (the index math never reads it). The forward pass's columns come from `im2col_quads`.
 */
function im2col(e: Engine, op: string, src: Tensor, g: Conv2dGeometry, patches: Tensor): void {
  dispatchRows(e, op, 'im2col', { x: src, patches }, g, (patches.size / paddedPlane(g)) * g.Ho);
}

/** out (..., Ho, Wo) = the first Ho*Wo elements of each HWp-long plane of `padded`. */
function unpadPlanes(e: Engine, op: string, padded: Tensor, g: Conv2dGeometry, out: Tensor): void {
  dispatchRows(e, op, 'unpad_planes', { col: padded, y: out }, g, padded.size / paddedPlane(g));
}

/**
 * A conv2d.wgsl entry that walks a row (or plane) per invocation: im2col, unpad_planes, zero_insert.
 * They pay the index arithmetic once per row, so their invocations are few and their workgroups small.
 */
function dispatchRows(e: Engine, op: string, entry: string, bindings: Record<string, Tensor>, g: Conv2dGeometry, rows: number): void {
  e.dispatch({
    kernel: directKernel,
    entry,
    bindings,
    params: directParams(g, rows),
    workgroups: grid1d(rows, ROW_WG),
    constants: { WG: ROW_WG },
    op,
  });
}

function checkEpilogue(kernel: string, g: Conv2dGeometry, opts: Conv2dOptions): void {
  if (opts.affine) {
    for (const [name, t] of [
      ['affine.scale', opts.affine.scale],
      ['affine.shift', opts.affine.shift],
    ] as const) {
      assertDType(kernel, name, t, 'f32');
      if (t.rank !== 1 || t.shape[0] !== g.O) {
        throw new KernelInputError(`${kernel}: ${name} must have shape [${g.O}] (one per output channel), got ${formatShape(t.shape)}`);
      }
    }
  }
  if (opts.residual) {
    assertDType(kernel, 'residual', opts.residual, 'f32');
    const want = [g.N, g.O, g.Ho, g.Wo];
    if (opts.residual.shape.join() !== want.join()) {
      throw new KernelInputError(
        `${kernel}: residual must have the output's shape ${formatShape(want)}, got ${formatShape(opts.residual.shape)}`,
      );
    }
  }
}

/** The epilogue after bias as separate passes, for kernels that fuse only bias and ReLU. Consumes y. */
function unfusedEpilogue(e: Engine, y: Tensor, epi: Epilogue): Tensor {
  let out = y;
  if (epi.scale && epi.shift) {
    out = channelAffineForward(e, y, epi.scale, epi.shift, { relu: !!epi.relu && !epi.residual });
    e.release(y);
  }
  if (epi.residual) {
    const sum = epi.relu ? addRelu(e, out, epi.residual) : binary(e, 'add', out, epi.residual);
    e.release(out);
    out = sum;
  }
  return out;
}

/** Whether a 3x3 stride-1 conv can go through Winograd at all: undilated, ungrouped, square padding <= 2. */
function winogradApplies(g: Conv2dGeometry): boolean {
  return g.KH === 3 && g.KW === 3 && g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 && g.G === 1 && g.PH === g.PW && g.PH <= 2;
}

/** What the options ask of Winograd: true, false, or 'auto' (the engine's default unless it disallows Winograd). */
function winogradWanted(e: Engine, opts: Conv2dOptions): boolean | 'auto' {
  return opts.winograd ?? (e.winograd ? 'auto' : false);
}

function winogradChosen(e: Engine, opts: Conv2dOptions, kernel: string, applies: boolean, suits: () => boolean): boolean {
  const want = winogradWanted(e, opts);
  if (want === true && !applies) {
    throw new KernelInputError(`${kernel}: winograd: true needs a stride-1, undilated, ungrouped 3x3 conv with equal padding <= 2`);
  }
  return applies && (want === true || (want === 'auto' && suits()));
}

/** Whether a conv of these shapes and options runs through Winograd (forward, or backward to the input). */
export function conv2dUsesWinograd(
  e: Engine,
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions = {},
  backward = false,
): boolean {
  const g = resolveConv2d('conv2d', xShape, wShape, opts);
  if (opts.variant === 'direct') return false;
  const variant = variantFor(e, 'conv2d', opts);
  if (!backward) return forwardPath(e, g, opts, variant).kind === 'winograd';
  const plan = backwardPlan(e, g, opts, variant);
  return plan.wino !== null || plan.spreadWino !== null;
}

/**
 * Which of backward to the input's Winograd, transposed-rows and strided-columns paths a conv takes
 * (conv2dBackwardInput runs the first that is set; conv2dUsesWinograd reports the Winograd ones).
 */
function backwardPlan(
  e: Engine,
  g: Conv2dGeometry,
  opts: Conv2dOptions,
  variant: Conv2dVariant,
): { wino: WinogradConv | null; spreadWino: WinogradConv | null; stridedColumns: boolean; transposedRows: Job[] | null } {
  const wino = variant === 'direct' ? null : winogradBackward(e, g, opts, variant);
  if (wino) return { wino, spreadWino: null, stridedColumns: false, transposedRows: null };
  const transposedRows = transposedRowsJobs(g, variant);
  if (transposedRows) return { wino: null, spreadWino: null, stridedColumns: false, transposedRows };
  const spread = variant === 'direct' ? null : spreadWinogradBackward(e, g, opts);
  const stridedColumns = stridedColumnsSuit(e, g, variant, spread !== null);
  return { wino: null, spreadWino: stridedColumns ? null : spread, stridedColumns, transposedRows: null };
}

/** The Winograd conv of the forward pass, or null to use the GEMM kernels. */
function winogradForward(e: Engine, g: Conv2dGeometry, opts: Conv2dOptions, variant: Conv2dVariant): WinogradConv | null {
  const c = { N: g.N, CI: g.C, CO: g.O, H: g.H, W: g.W, Ho: g.Ho, Wo: g.Wo, pad: g.PH };
  const m = opts.winogradTile ?? winogradTileFor(c);
  const suits = () => winogradSuits(c) && !directRowsWin(c, variant);
  return winogradChosen(e, opts, 'conv2d.forward', winogradApplies(g), suits) ? { ...c, m } : null;
}

/** Backward to the input of a stride-1 3x3 conv: a conv of dy (padding 2 - P) with the flipped, transposed kernel. */
function winogradBackward(e: Engine, g: Conv2dGeometry, opts: Conv2dOptions, variant: Conv2dVariant): WinogradConv | null {
  const c = { N: g.N, CI: g.O, CO: g.C, H: g.Ho, W: g.Wo, Ho: g.H, Wo: g.W, pad: 2 - g.PH };
  const m = opts.winogradTile ?? winogradTileFor(c);
  const suits = () => winogradSuits(c) && !directRowsWin(c, variant);
  return winogradChosen(e, opts, 'conv2d.backwardInput', winogradApplies(g), suits) ? { ...c, m } : null;
}

/**
 * Where the subgroup kernels' direct rows entries (`*_s1_rows`: padding 1 on rows of whole vec4s) beat
 * Winograd: up to 32 channels in and out, whose transforms weigh most against a product this small, and
 * up to 64 on fewer than 128 F(4x4) tiles, where Winograd's three passes cost more than they save.
 * CIFAR ResNet-20's 32-channel 3x3 at batch 250, interleaved: forward 14.4 against 17.8-19.0 ms, backward
 * to the input 13.4 against 17.5. 64 channels (GPU time, medians of 13 interleaved pairs, December 2026):
 * 8x8 maps at batch 2-16 (8-64 tiles) 0.31-1.25 against 0.73-1.58 ms, 16x16 at batch 1-4 0.47-1.46 against
 * 1.08-1.70, 32x32 at batch 1 1.28 against 1.59; even at 128 tiles (batch 32 on 8x8: 2.53 against 2.56),
 * Winograd ahead from 256 (4.81 against 5.55) and on ResNet-50's 56x56 at batch 1 (196 tiles).
 */
function directRowsWin(c: Omit<WinogradConv, 'm'>, variant: Conv2dVariant): boolean {
  if (variant !== 'subgroup' || c.pad !== 1 || c.W % 4 !== 0) return false;
  const channels = Math.max(c.CI, c.CO);
  const tiles4 = c.N * Math.ceil(c.Ho / 4) * Math.ceil(c.Wo / 4);
  return channels <= 32 || (channels <= 64 && tiles4 < 128);
}

/**
 * Backward to the input of a stride-2, padding-1 3x3 conv (ResNet's downsampling 3x3s) as the stride-1
 * one's: with dy spread over the input's grid (zeros between, `zero_insert`), dx is the backward of a
 * stride-1 padding-1 3x3 conv, which Winograd F(4x4) runs at a higher rate than the four per-phase GEMMs
 * it replaces (it multiplies four times as many values, mostly zeros, and four times less per value).
 * Only on 'auto', where Winograd suits that stride-1 conv with F(4x4) tiles.
 */
function spreadWinogradApplies(g: Conv2dGeometry): boolean {
  return g.KH === 3 && g.KW === 3 && g.SH === 2 && g.SW === 2 && g.PH === 1 && g.PW === 1 && g.DH === 1 && g.DW === 1 && g.G === 1;
}

function spreadWinogradBackward(e: Engine, g: Conv2dGeometry, opts: Conv2dOptions): WinogradConv | null {
  if (winogradWanted(e, opts) !== 'auto' || !spreadWinogradApplies(g)) return null;
  // The stride-1 conv's output grid is the input's: H + 2 - 3 + 1 = H.
  const c = { N: g.N, CI: g.O, CO: g.C, H: g.H, W: g.W, Ho: g.H, Wo: g.W, pad: 1 };
  // F(2x2) multiplies only 2.25x less than the direct conv, not enough to pay for the zeros.
  return winogradSuits(c) && winogradTileFor(c) === 4 ? { ...c, m: 4, flops: convFlops(g) } : null;
}

/** src (N, K, Ho, Wo) spread over the input's grid (N, K, H, W): src[i, j] at (i*SH, j*SW), zeros between. */
function spreadOverInput(e: Engine, src: Tensor, g: Conv2dGeometry): Tensor {
  const [N, K] = src.shape;
  const spread = e.empty([N, K, g.H, g.W], 'f32', 'conv2d.backwardInput.spread');
  dispatchRows(e, 'conv2d.backwardInput', 'zero_insert', { dy: src, dx: spread }, g, N * K * g.H);
  return spread;
}

function forwardView(g: Conv2dGeometry): WeightView {
  return { mode: 0, JH: g.KH, JW: g.KW, kh0: 0, kw0: 0, TH: 1, TW: 1 };
}

/**
 * Packs `w` for the GEMM kernels ahead of time (a model calls this once per conv at load), for the
 * forward pass and, with `backwardInput`, for backward to the input. Optional: the passes pack on
 * first use. The packed copies live until `w` is released or `releaseConv2dWeightCache`.
 */
export function prepareConv2dWeight(e: Engine, w: Tensor, opts: Conv2dOptions & { backwardInput?: boolean } = {}): void {
  const kernel = 'conv2d.prepareWeight';
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'w', w, 'f32');
  const variant = variantFor(e, kernel, opts);
  if (variant === 'direct') return;
  const [, Cg, KH, KW] = w.shape;
  // The packings depend on the input size only through whether its rows are whole vec4s (the rows
  // entries take the 16-channel tile up to 64 channels, other entries the 32-channel one): an input the
  // kernel fits of each kind gives all of them.
  const [SH, SW] = resolvePair(kernel, 'stride', opts.stride, 1, 1);
  const [DH, DW] = resolvePair(kernel, 'dilation', opts.dilation, 1, 1);
  const H = DH * KH + 4 * SH;
  const W = DW * KW + 4 * SW;
  for (const width of new Set([W, 8 * Math.ceil(W / 8)])) {
    prepareForInput(e, kernel, variant, w, resolveConv2d(kernel, [1, Cg * (opts.groups ?? 1), H, width], w.shape, opts), opts);
  }
}

function prepareForInput(
  e: Engine,
  kernel: string,
  variant: GemmVariant,
  w: Tensor,
  g: Conv2dGeometry,
  opts: Conv2dOptions & { backwardInput?: boolean },
): void {
  const jobs = [{ conv: forwardConv(g), view: forwardView(g) }];
  if (opts.backwardInput) {
    jobs.push(...(useColumns(g) || stridedColumnsMayApply(g, variant) ? [columnsJob(g)] : []), ...backwardPhases(g).jobs);
    if (transposedRowsMayApply(g, variant)) jobs.push(...transposedRowsPhases(g, rowPhases(g)));
  }
  for (const { conv, view } of jobs) {
    if (gemmSuits(variant, [{ conv }])) packedWeight(e, kernel, w, conv.G, conv.Ci, conv.Co, view, tileConfig(variant, conv).TN);
  }
  if (columnsMayApply(g, variant)) {
    const { job, w: matrix } = columnsForward(g, w);
    packedWeight(e, kernel, matrix, 1, job.conv.Ci, job.conv.Co, job.view, tileConfig(variant, job.conv).TN);
  }
  // Winograd's choice (and tile) depends on the input size; where it can apply at all, both tiles' weights are cached.
  if (winogradApplies(g) && winogradWanted(e, opts) !== false) {
    for (const m of opts.winogradTile ? [opts.winogradTile] : ([2, 4] as const)) {
      prepareWinogradWeight(e, 'conv2d.forward', variant, w, 0, m);
      if (opts.backwardInput) prepareWinogradWeight(e, 'conv2d.backwardInput', variant, w, 1, m);
    }
  }
  if (opts.backwardInput && stridedPointwiseSuits(g, variant)) {
    // Its backward is the stride-1 pointwise conv's, on the output grid.
    const conv = pointwiseGemm(1, 1, g.O, g.C, g.O, 4);
    packedWeight(e, kernel, w, 1, g.O, g.C, TRANSPOSED_POINTWISE, tileConfig(variant, conv).TN);
  }
  if (opts.backwardInput && spreadWinogradApplies(g) && winogradWanted(e, opts) !== false) {
    prepareWinogradWeight(e, 'conv2d.backwardInput', variant, w, 1, 4);
  }
}

// ---------------------------------------------------------------- backward to the input

/**
 * Backward to the input of a 1x1 conv whose planes are not whole vec4s (ResNet-50's 7x7 layer4): the
 * transposed conv is pointwise too, so, as in the forward pass, dy's planes are padded to whole vec4s
 * for the flat GEMM and dx is unpadded after (the ReLU's backward then runs as its own pass).
 */
function backwardPaddedSuits(e: Engine, g: Conv2dGeometry, variant: Conv2dVariant): boolean {
  const HWp = paddedPlane(g);
  return (
    flatPointwiseBackward(g, variant) &&
    g.SH === 1 &&
    g.SW === 1 &&
    HWp !== g.H * g.W &&
    g.N * Math.max(g.C, g.O) * HWp * 4 <= e.maxBindingBytes
  );
}

function backwardThroughPaddedPlanes(e: Engine, dy: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const kernel = 'conv2d.backwardInput';
  const HWp = paddedPlane(g);
  const dyPadded = e.empty([g.N, g.O, 1, HWp], 'f32', `${kernel}.padded_dy`);
  im2col(e, kernel, dy, g, dyPadded);
  const conv = { ...pointwiseGemm(g.N, 1, g.O, g.C, g.O, HWp), flops: convFlops(g) };
  const dxPadded = e.empty([g.N, g.C, 1, HWp], 'f32', `${kernel}.padded_dx`);
  runGemms(e, kernel, 'subgroup', dyPadded, w, [{ conv, view: TRANSPOSED_POINTWISE }], dxPadded);
  e.release(dyPadded);
  const dx = e.empty([g.N, g.C, g.H, g.W], 'f32', 'conv2d.dx');
  unpadPlanes(e, kernel, dxPadded, g, dx);
  e.release(dxPadded);
  return dx;
}

/** A strided 1x1 conv wide enough for the flat GEMMs (ResNet's downsamples). */
function stridedPointwiseSuits(g: Conv2dGeometry, variant: Conv2dVariant): boolean {
  return flatPointwiseBackward(g, variant) && (g.SH > 1 || g.SW > 1);
}

/** An unpadded, ungrouped 1x1 conv (any stride) whose transposed GEMM suits the flat subgroup kernels. */
function flatPointwiseBackward(g: Conv2dGeometry, variant: Conv2dVariant): boolean {
  return variant === 'subgroup' && g.KH === 1 && g.KW === 1 && g.PH === 0 && g.PW === 0 && g.G === 1 && g.C > 16 && g.O > 16;
}

/**
 * Inputs with at most 8 channels per group (the RGB stem) take the columns path, unless pointwise.
 * Strided convs with more channels may too (`stridedColumnsSuit`).
 */
function useColumns(g: Conv2dGeometry): boolean {
  return g.Cg <= 8 && !isPointwise(g);
}

/**
 * Whether backward to the input of a stride-1 conv with few input channels runs as one conv of dy on a
 * rows entry of the subgroup kernels (`narrow_s1_rows`) rather than through columns + col2im, whose GEMM
 * has only dy's channels to sum. Measured (medians of 7 runs, two interleaved rounds): 16 -> 3 channels
 * on 32x32 (CIFAR's stem) at batch 250 9.0-9.4 against 19.4-19.9 ms, 16 -> 8 at batch 64 5.0-5.1 against
 * 11.8-12.5, 32 -> 3 at batch 250 14.3-14.8 against 23.9-24.6. Not on rows that straddle workgroups,
 * whose edge pixels are loaded rather than shuffled: on 224x224 at batch 1, 16 channels even (3.3-3.5
 * against 3.4-3.5 ms), 32 behind (4.9-6.1 against 4.2-4.5), 64 (VGG-16's stem) 9.9-12.2 against 6.0-7.3.
 */
function rowsBackwardSuits(g: Conv2dGeometry, variant: Conv2dVariant, { jobs }: { jobs: Job[] }): boolean {
  if (variant !== 'subgroup' || g.SH !== 1 || g.SW !== 1 || g.Og > 32 || 8 % Math.ceil(g.W / 8) !== 0) return false;
  return jobs.length === 1 && tileConfig(variant, jobs[0].conv).entry.endsWith('_rows');
}

/**
 * Whether a strided conv with more than 8 input channels per group goes backward through the columns
 * path too, on the subgroup kernels, rather than through spread-dy Winograd or per-phase GEMMs. Since
 * col2im walks rows it costs less than either on ResNet-50's stride-2 3x3 convs: 1.15x on `layer2.0` and
 * `layer3.0`, 1.25x on `layer4.0` at batch 1, 1.07x on `layer2.0` at batch 8 (interleaved A/B). Not where
 * dy's planes are not whole vec4s and spread Winograd serves (`layer4.0` at batch 8, 7x7: 0.9x): the
 * columns GEMM then reads dy without vec4 loads. Nor 1x1 convs (the downsamples), whose backward is
 * already a pointwise GEMM on the output grid (`stridedPointwiseSuits`).
 */
function stridedColumnsSuit(e: Engine, g: Conv2dGeometry, variant: Conv2dVariant, spreadWinograd: boolean): boolean {
  return stridedColumnsMayApply(g, variant) && ((g.Ho * g.Wo) % 4 === 0 || !spreadWinograd) && columnsFit(e, g, 'subgroup');
}

/** Whether backward's columns fit one binding and the GEMM kernels suit the columns job. */
function columnsFit(e: Engine, g: Conv2dGeometry, variant: GemmVariant): boolean {
  return columnBytes(g) <= e.maxBindingBytes && gemmSuits(variant, [columnsJob(g)]);
}

/** Whether `stridedColumnsSuit` may hold at some input size (prepareConv2dWeight packs for it then). */
function stridedColumnsMayApply(g: Conv2dGeometry, variant: Conv2dVariant): boolean {
  return variant === 'subgroup' && g.Cg > 8 && (g.SH > 1 || g.SW > 1) && g.KH * g.KW > 1;
}

// dy: (N, O, Ho, Wo), w: (O, C/groups, KH, KW) -> dx: (N, C, H, W) for inputShape (N, C, H, W)
export const conv2dBackwardInput = scoped(function conv2dBackwardInput(
  e: Engine,
  dy: Tensor,
  w: Tensor,
  inputShape: readonly number[],
  opts: Conv2dOptions = {},
  inputRelu?: InputRelu,
): Tensor {
  const kernel = 'conv2d.backwardInput';
  assertRank(kernel, 'dy', dy, 4);
  assertRank(kernel, 'w', w, 4);
  assertDType(kernel, 'dy', dy, 'f32');
  assertDType(kernel, 'w', w, 'f32');
  const g = resolveConv2d(kernel, inputShape, w.shape, opts);
  const expected = [g.N, g.O, g.Ho, g.Wo];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new KernelInputError(
      `${kernel}: dy ${formatShape(dy.shape)} does not match the conv output ${formatShape(expected)} of input ${formatShape(inputShape)} and weight ${formatShape(w.shape)}`,
    );
  }
  const variant = variantFor(e, kernel, opts);
  const dxShape = [g.N, g.C, g.H, g.W];
  if (inputRelu) checkInputRelu(kernel, inputRelu, dxShape);
  const fusesRelu = !inputRelu || reluInStore(e, dxShape);
  const epi = fusesRelu ? reluEpilogue(inputRelu) : {};
  // Paths that cannot fuse the ReLU's backward run it as its own pass.
  const unfused = (dx: Tensor): Tensor => {
    if (!inputRelu) return dx;
    const out = reluBackward(e, inputRelu.y, dx, inputRelu.rule, inputRelu.plus);
    e.release(dx);
    return out;
  };
  // dx from a path whose store applied `epi`: done, or the ReLU's backward still to run.
  const afterStore = (dx: Tensor): Tensor => (fusesRelu ? dx : unfused(dx));
  const { wino, spreadWino, stridedColumns, transposedRows } = backwardPlan(e, g, opts, variant);
  if (wino) {
    const dx = e.empty(dxShape, 'f32', 'conv2d.dx');
    winogradConv3x3(e, kernel, variant as GemmVariant, dy, w, 1, wino, dx, epi);
    return afterStore(dx);
  }
  if (transposedRows) {
    // Every row phase has a tap (transposedRowsJobs), so every pixel of dx is written, epilogue included.
    const dx = e.empty(dxShape, 'f32', 'conv2d.dx');
    runGemms(e, kernel, variant as GemmVariant, dy, w, transposedRows, dx, epi);
    return afterStore(dx);
  }
  if (spreadWino) {
    const spread = spreadOverInput(e, dy, g);
    const dx = e.empty(dxShape, 'f32', 'conv2d.dx');
    winogradConv3x3(e, kernel, variant as GemmVariant, spread, w, 1, spreadWino, dx, epi);
    e.release(spread);
    return afterStore(dx);
  }
  if (variant !== 'direct') {
    const plan = backwardPhases(g);
    if (stridedColumns || (useColumns(g) && columnsFit(e, g, variant) && !rowsBackwardSuits(g, variant, plan))) {
      const col = e.empty([g.N, g.C * g.KH * g.KW, 1, g.Ho * g.Wo], 'f32', `${kernel}.columns`);
      runGemms(e, kernel, variant, dy, w, [columnsJob(g)], col);
      const dx = e.empty(dxShape, 'f32', 'conv2d.dx');
      // One invocation per row of each phase of dx (conv2d.wgsl col2im): few enough that a smaller
      // workgroup spreads them over more threads.
      const n = g.N * g.C * g.SH * g.SW * Math.ceil(g.H / g.SH);
      // col2im takes the gradient on through the ReLU in its store, with the shortcut's gradient added, on
      // every adapter: it walks rows of dx, so the two extra loads stream rather than scatter as in a GEMM tile.
      e.dispatch({
        kernel: directKernel,
        entry: 'col2im',
        bindings: { col, dx, relu_y: inputRelu?.y ?? col, plus: inputRelu?.plus ?? col },
        params: directParams(g, n),
        workgroups: grid1d(n, COL2IM_WG),
        constants: {
          WG: COL2IM_WG,
          INPUT_RELU: inputRelu ? 1 : 0,
          INPUT_PLUS: inputRelu?.plus ? 1 : 0,
          ...RULE_MASKS[inputRelu?.rule ?? 'standard'],
        },
        op: kernel,
      });
      e.release(col);
      return dx;
    }
    if (backwardPaddedSuits(e, g, variant)) return unfused(backwardThroughPaddedPlanes(e, dy, w, g));
    if (stridedPointwiseSuits(g, variant)) {
      // A strided 1x1 conv (a downsample) reads the input only on its output grid: there dx is the
      // stride-1 conv's backward (a flat GEMM), spread over the input's grid with zeros between.
      const compact = conv2dBackwardInput(e, dy, w, [g.N, g.C, g.Ho, g.Wo], { variant });
      const dx = spreadOverInput(e, compact, g);
      e.release(compact);
      return unfused(dx);
    }
    if (gemmSuits(variant, plan.jobs)) {
      // Phases with no taps (kernel smaller than the stride) leave their pixels at zero, which every rule keeps.
      const dx = plan.complete ? e.empty(dxShape, 'f32', 'conv2d.dx') : e.zeros(dxShape, 'f32', 'conv2d.dx');
      // Pixels no phase writes would miss an added gradient: those convs add it as a pass.
      const fuses =
        fusesRelu && plan.jobs.every(({ conv }) => fusesWholeEpilogue(tileConfig(variant, conv))) && (plan.complete || !inputRelu?.plus);
      runGemms(e, kernel, variant, dy, w, plan.jobs, dx, fuses ? epi : {});
      return fuses ? dx : unfused(dx);
    }
  }
  const dx = e.empty(dxShape, 'f32', 'conv2d.dx');
  const n = phaseGrid(g);
  e.dispatch({
    kernel: directKernel,
    entry: 'backward_input',
    bindings: { dy, w, dx },
    params: directParams(g, n),
    workgroups: grid1d(n, WG),
    constants: { WG },
    op: kernel,
    variant: 'direct',
    flops: convFlops(g),
  });
  return unfused(dx);
});

/**
 * Whether backward's ReLU (its output y as a mask, and an added gradient) runs in the conv's store, which
 * then loads one or two tensors of dx's shape; otherwise the whole ReLU backward, add first, is one
 * streaming pass after the conv. Up to `Engine.convBackwardEpilogueMaxBytes` of dx: any size on hardware
 * adapters, 256 KiB on software ones, where a GEMM tile's store walks 16-32 planes in short runs, so those
 * loads scatter over planes the cache does not hold. Single convs (medians of 9 runs, two interleaved
 * rounds, store against pass): ResNet-50's expanding 1x1 in layer1 with the shortcut's gradient 37.0-38.6
 * against 23.3-24.1 ms at batch 8 and 5.4-5.9 against 3.7-4.2 at batch 1; the mask alone on CIFAR's
 * 16 -> 32 stride-2 at batch 250 26.0-26.2 against 23.2-23.9. Alone and warm in cache the store wins up to
 * about 2 MiB (ResNet-50's layer2 1x1 at batch 1, 1.6 MB: 2.6 against 3.2 ms), but in a model the ReLU's
 * output comes cold from the forward pass: ResNet-50 forward + backward at batch 1 (six profiles, two
 * rounds), the layer2 conv1s' backward 12.2-14.2 ms in the store against 9.2-10.8 as passes, layer3's (0.8
 * MB) 15.1-19.6 against 12.1-15.9, layer4's (0.4 MB) even. The store stays for tiny convs (CIFAR at batch
 * 1, 64 KB), where a pass each would cost more in dispatches than the loads do.
 */
function reluInStore(e: Engine, dxShape: readonly number[]): boolean {
  return shapeSize(dxShape) * 4 <= e.convBackwardEpilogueMaxBytes;
}

function checkInputRelu(kernel: string, r: InputRelu, dxShape: readonly number[]): void {
  assertRule(kernel, r.rule);
  for (const [name, t] of [
    ['inputRelu.y', r.y],
    ['inputRelu.plus', r.plus],
  ] as const) {
    if (!t) continue;
    assertDType(kernel, name, t, 'f32');
    if (t.shape.join() !== dxShape.join()) {
      throw new KernelInputError(`${kernel}: ${name} must have the input's shape ${formatShape(dxShape)}, got ${formatShape(t.shape)}`);
    }
  }
}

/** A ReLU's backward rule (relu.wgsl) as a store epilogue: standard masks by [y > 0], guided also by [dx > 0], DeconvNet only by [dx > 0]. */
function reluEpilogue(r: InputRelu | undefined): Epilogue {
  if (!r) return {};
  return { residual: r.plus ?? null, mask: r.rule === 'deconvnet' ? null : r.y, relu: r.rule !== 'standard' };
}

// ---------------------------------------------------------------- backward to the weights

// x: (N, C, H, W), dy: (N, O, Ho, Wo) -> dw: (O, C/groups, KH, KW)
export function conv2dBackwardWeight(e: Engine, x: Tensor, dy: Tensor, weightShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const kernel = 'conv2d.backwardWeight';
  assertRank(kernel, 'x', x, 4);
  assertRank(kernel, 'dy', dy, 4);
  assertDType(kernel, 'x', x, 'f32');
  assertDType(kernel, 'dy', dy, 'f32');
  const g = resolveConv2d(kernel, x.shape, weightShape, opts);
  const expected = [g.N, g.O, g.Ho, g.Wo];
  if (dy.shape.some((d, i) => d !== expected[i])) {
    throw new KernelInputError(
      `${kernel}: dy ${formatShape(dy.shape)} does not match the conv output ${formatShape(expected)} of input ${formatShape(x.shape)} and weight ${formatShape(weightShape)}`,
    );
  }
  const dw = e.empty([g.O, g.Cg, g.KH, g.KW], 'f32', 'conv2d.dw');
  e.dispatch({
    kernel: directKernel,
    entry: 'backward_weight',
    bindings: { x, dy, dw },
    params: directParams(g, dw.size),
    workgroups: grid1d(dw.size, WG),
    constants: { WG },
    op: kernel,
    variant: 'direct',
    flops: convFlops(g),
  });
  return dw;
}
