import source from '../../shaders/winograd.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import {
  derivedWeight,
  packWeight,
  pointwiseGemm,
  runPackedGemm,
  tileConfig,
  epilogueConstants,
  withEpilogueBindings,
  type Epilogue,
  type GemmConv,
  type GemmVariant,
} from './conv2d-gemm.js';

/**
 * Winograd F(m x m, 3x3), m = 2 or 4, for stride-1, undilated, ungrouped 3x3 convolutions
 * (shaders/winograd.wgsl): transform the weights once (cached with the conv's packed weights), transform
 * the input, run the (m+2)^2 per-position products as one grouped 1x1 conv on the GEMM kernels,
 * transform the output with the conv's epilogue. F(2x2) does 2.25x fewer multiply-adds than the direct
 * conv, F(4x4) 4x, with cheaper transforms per output; the transforms are memory-bound passes, so it
 * pays where the GEMM is large enough (`winogradSuits`). The same machinery runs backward to the
 * input, which for stride 1 is a conv of dy with the flipped, transposed kernel.
 *
 * Effective GFLOP/s (the direct conv's FLOPs over the time taken) can pass the adapter's FMA ceiling.
 */

const kernel = defineKernel('winograd', source);
const WG = 64;

/** The conv a Winograd pass computes: x (N, CI, H, W) -> y (N, CO, Ho, Wo) with padding `pad`. */
export interface WinogradConv {
  N: number;
  CI: number;
  CO: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  pad: number;
  /** Output tile side: F(2x2, 3x3) or F(4x4, 3x3). */
  m: 2 | 4;
  /**
   * FLOPs profiles report for the whole conv; default the direct conv's (effective rates). A strided
   * conv's backward run on a spread dy reports the strided conv's own, not the zeros'.
   */
  flops?: number;
}

/** Transform positions per tile, (m + 2)^2. */
function positions(m: 2 | 4): number {
  return (m + 2) * (m + 2);
}

/** Entry-point name suffix of each tile size in winograd.wgsl. */
const ENTRY_SUFFIX = { 2: '', 4: '4' } as const;

/**
 * Where Winograd beats the GEMM conv on lavapipe (bench/: the [winograd] and [gemm] rows): enough
 * channels that the transforms (memory-bound, per channel) are a small part, 1.25x at 64 channels and
 * 2.5-2.8x at 256-512 while at 16 it loses; and enough tiles to fill the GEMM's 32-pixel rows, unless
 * the channels are many (ResNet-50's 7x7 layer4 has 16 tiles at batch 1 and still gains 1.6x).
 */
export function winogradSuits(c: Omit<WinogradConv, 'm'>): boolean {
  const tiles = c.N * Math.ceil(c.Ho / 2) * Math.ceil(c.Wo / 2);
  return c.CI >= 32 && c.CO >= 32 && (tiles >= 32 || Math.min(c.CI, c.CO) >= 128);
}

/**
 * The output tile: F(4x4, 3x3) wherever it has 32 tiles to fill the GEMM's rows (it multiplies 1.8x less
 * than F(2x2) and its transforms move 2.25 values per output instead of 4: 1.2-1.6x faster on the
 * ResNet and CIFAR layers), F(2x2, 3x3) on small maps. F(4x4)'s larger transform coefficients cost
 * accuracy: its worst error is about 10x F(2x2)'s, which the model parity tests (logits within rtol
 * 1e-4 of PyTorch) still pass.
 */
export function winogradTileFor(c: Omit<WinogradConv, 'm'>): 2 | 4 {
  return c.N * Math.ceil(c.Ho / 4) * Math.ceil(c.Wo / 4) >= 32 ? 4 : 2;
}

function tileCounts(c: WinogradConv) {
  const TY = Math.ceil(c.Ho / c.m);
  const TX = Math.ceil(c.Wo / c.m);
  return { TY, TX, tiles: c.N * TY * TX };
}

/**
 * w (O, C, 3, 3) -> u (P * Out, In, 1, 1), P = (m+2)^2 (mode 0 forward: Out = O; 1 backward to the
 * input: Out = C), packed for the product GEMM and cached; u itself is freed once packed.
 */
function transformedWeight(e: Engine, op: string, variant: GemmVariant, w: Tensor, mode: 0 | 1, m: 2 | 4): Tensor {
  const [O, C] = w.shape;
  const [CO, CI] = mode === 0 ? [O, C] : [C, O];
  const P = positions(m);
  const TN = tileConfig(variant, productGemm({ N: 1, CI, CO, H: 1, W: 1, Ho: 1, Wo: 1, pad: 0, m }, 4)).TN;
  return derivedWeight(e, w, `winograd|${mode}|${m}|${TN}`, () => {
    const u = e.empty([P * CO, CI, 1, 1], 'f32', `${op}.winograd_weight`);
    const total = CO * CI;
    e.dispatch({
      kernel,
      entry: `transform_weights${ENTRY_SUFFIX[m]}`,
      bindings: { w, u },
      params: { ...ZERO_PARAMS, CI, CO, total },
      workgroups: grid1d(total, WG),
      constants: { WG, MODE: mode },
      op,
    });
    const wt = packWeight(e, op, u, P, CI, CO, PRODUCT_VIEW, TN);
    e.release(u);
    return wt;
  });
}

const ZERO_PARAMS = { N: 0, CI: 0, CO: 0, H: 0, W: 0, Ho: 0, Wo: 0, TY: 0, TX: 0, T: 0, T4: 0, t0: 0, TN: 0, pad: 0, total: 0 };

const PRODUCT_VIEW = { mode: 0, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 } as const;

/** Prepares (caches) the packed transformed weight, as prepareConv2dWeight does for the GEMMs. */
export function prepareWinogradWeight(e: Engine, op: string, variant: GemmVariant, w: Tensor, mode: 0 | 1, m: 2 | 4): void {
  transformedWeight(e, op, variant, w, mode, m);
}

/**
 * x (N, CI, H, W), w (O, C, 3, 3) viewed through `mode` -> y (N, CO, Ho, Wo), into `y`.
 * Large inputs run in chunks of tiles so every transformed tensor fits in one binding.
 */
export function winogradConv3x3(
  e: Engine,
  op: string,
  variant: GemmVariant,
  x: Tensor,
  w: Tensor,
  mode: 0 | 1,
  c: WinogradConv,
  y: Tensor,
  epi: Epilogue = {},
): void {
  const wt = transformedWeight(e, op, variant, w, mode, c.m);
  const P = positions(c.m);
  const suffix = ENTRY_SUFFIX[c.m];
  const { TY, TX, tiles } = tileCounts(c);
  // v (P CI x T4) and m (P CO x T4) each within a binding; the register/shared GEMMs also pack v.
  const perTile = P * Math.max(Math.ceil(c.CI / 4) * 4, c.CO) * 4;
  const fits = Math.max(4, Math.floor(e.maxBindingBytes / perTile / 4) * 4);
  const chunk = evenChunk(tiles, e.adapter.isSoftware ? Math.min(fits, SOFTWARE_MAX_CHUNK_TILES) : fits);
  const common = { ...ZERO_PARAMS, N: c.N, H: c.H, W: c.W, Ho: c.Ho, Wo: c.Wo, TY, TX, TN: tiles, pad: c.pad };
  const constants = { WG, ...epilogueConstants(epi) };
  for (let t0 = 0; t0 < tiles; t0 += chunk) {
    const T = Math.min(chunk, tiles - t0);
    const T4 = Math.ceil(T / 4) * 4;
    const v = e.empty([1, P * c.CI, 1, T4], 'f32', `${op}.winograd_input`);
    const inTotal = c.CI * T4;
    const inputRows = c.m === 4 && c.pad === 1 && c.W % 4 === 0;
    e.dispatch({
      kernel,
      entry: inputRows ? 'transform_input4_rows' : `transform_input${suffix}`,
      bindings: inputRows ? { x, x4: x, v } : { x, v },
      params: { ...common, CI: c.CI, T, T4, t0, total: inTotal },
      workgroups: grid1d(inTotal, WG),
      constants: { WG },
      op,
    });
    const m = e.empty([1, P * c.CO, 1, T4], 'f32', `${op}.winograd_product`);
    const flops = ((c.flops ?? 2 * c.N * c.CO * c.Ho * c.Wo * c.CI * 9) * T) / tiles;
    runPackedGemm(e, op, variant, v, wt, { ...productGemm(c, T4), flops }, m);
    e.release(v);
    const outTotal = c.CO * T;
    // F(4x4) on planes whose width is whole vec4s stores each tile row as one vec4 (5 % faster RISE).
    const rows = c.m === 4 && c.Wo % 4 === 0;
    e.dispatch({
      kernel,
      entry: rows ? 'transform_output4_rows' : `transform_output${suffix}`,
      bindings: rows ? withEpilogueBindings({ m, y4: y }, epi, m, true) : withEpilogueBindings({ m, y }, epi, m),
      params: { ...common, CO: c.CO, T, T4, t0, total: outTotal },
      workgroups: grid1d(outTotal, WG),
      constants,
      op,
    });
    e.release(m);
  }
}

/**
 * Tiles per chunk on software adapters: the product GEMM reads each (position, channel) row of v, T4
 * tiles long, as a plane, and on lavapipe a GEMM whose planes pass 4 KiB costs about 1.5x as much per
 * multiply-add (docs/adapter.md). VGG-16's 64-channel 3x3 on 224x224 (3136 tiles) in chunks of 784
 * tiles: its product GEMM 37.2 -> 29.2 ms, the conv 57.6 -> 49.5 ms at batch 1 (medians of 5 interleaved
 * runs, December 2026); 512 and 256 tiles no better.
 */
const SOFTWARE_MAX_CHUNK_TILES = 1024;

/** The chunk size, a multiple of 4 at most `limit`, that splits `tiles` into equal chunks. */
function evenChunk(tiles: number, limit: number): number {
  const chunks = Math.ceil(tiles / limit);
  return Math.min(limit, Math.ceil(tiles / chunks / 4) * 4);
}

/** The P products as one grouped 1x1 conv: group xi multiplies (CO x CI) by (CI x T4). */
function productGemm(c: WinogradConv, T4: number): GemmConv {
  const P = positions(c.m);
  return pointwiseGemm(1, P, c.CI, c.CO, P * c.CI, T4);
}
