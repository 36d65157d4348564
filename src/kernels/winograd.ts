import source from '../../shaders/winograd.wgsl?raw';
import { grid1d, type Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { derivedWeight, packedWeight, runGemms, tileConfig, type Epilogue, type GemmConv, type GemmVariant } from './conv2d-gemm.js';

/**
 * Winograd F(2x2, 3x3) for stride-1, undilated, ungrouped 3x3 convolutions (shaders/winograd.wgsl):
 * transform the weights once (cached with the conv's packed weights), transform the input, run the 16
 * per-position products as one grouped 1x1 conv on the GEMM kernels, transform the output with the
 * conv's epilogue. 2.25x fewer multiply-adds than the direct conv; the transforms are memory-bound
 * passes, so it pays where the GEMM is large enough (`winogradSuits`). The same machinery runs
 * backward to the input, which for stride 1 is a conv of dy with the flipped, transposed kernel.
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
}

/**
 * Where Winograd beats the GEMM conv on lavapipe (bench/: the [winograd] and [gemm] rows): enough
 * channels that the transforms (memory-bound, per channel) are a small part, 1.25x at 64 channels and
 * 2.5-2.8x at 256-512 while at 16 it loses; and enough tiles to fill the GEMM's 32-pixel rows, unless
 * the channels are many (ResNet-50's 7x7 layer4 has 16 tiles at batch 1 and still gains 1.6x).
 */
export function winogradSuits(c: WinogradConv): boolean {
  const tiles = c.N * Math.ceil(c.Ho / 2) * Math.ceil(c.Wo / 2);
  return c.CI >= 32 && c.CO >= 32 && (tiles >= 32 || Math.min(c.CI, c.CO) >= 128);
}

function tileCounts(c: WinogradConv) {
  const TY = Math.ceil(c.Ho / 2);
  const TX = Math.ceil(c.Wo / 2);
  return { TY, TX, tiles: c.N * TY * TX };
}

// w (O, C, 3, 3) -> u (16 * Out, In, 1, 1); mode 0 forward (Out = O), 1 backward to the input (Out = C)
function transformedWeight(e: Engine, op: string, w: Tensor, mode: 0 | 1): Tensor {
  const [O, C] = w.shape;
  const [CO, CI] = mode === 0 ? [O, C] : [C, O];
  return derivedWeight(e, w, `winograd|${mode}`, () => {
    const u = e.empty([16 * CO, CI, 1, 1], 'f32', `${op}.winograd_weight`);
    const total = CO * CI;
    e.dispatch({
      kernel,
      entry: 'transform_weights',
      bindings: { w, u },
      params: { ...ZERO_PARAMS, CI, CO, total },
      workgroups: grid1d(total, WG),
      constants: { WG, MODE: mode },
      op,
    });
    return u;
  });
}

const ZERO_PARAMS = { N: 0, CI: 0, CO: 0, H: 0, W: 0, Ho: 0, Wo: 0, TY: 0, TX: 0, T: 0, T4: 0, t0: 0, TN: 0, pad: 0, total: 0 };

const PRODUCT_VIEW = { mode: 0, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 } as const;

/** Prepares (caches) the transformed weight and its GEMM packing, as prepareConv2dWeight does for the GEMMs. */
export function prepareWinogradWeight(e: Engine, op: string, variant: GemmVariant, w: Tensor, mode: 0 | 1): void {
  const u = transformedWeight(e, op, w, mode);
  const [CO16, CI] = u.shape;
  const conv = productGemm({ N: 1, CI, CO: CO16 / 16, H: 1, W: 1, Ho: 1, Wo: 1, pad: 0 }, 4);
  packedWeight(e, op, u, 16, CI, CO16 / 16, PRODUCT_VIEW, tileConfig(variant, conv).TN);
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
  const u = transformedWeight(e, op, w, mode);
  const { TY, TX, tiles } = tileCounts(c);
  // v (16 CI x T4) and m (16 CO x T4) each within a binding; the register/shared GEMMs also pack v.
  const perTile = 16 * Math.max(Math.ceil(c.CI / 4) * 4, c.CO) * 4;
  const chunk = Math.max(4, Math.floor(e.limits.maxStorageBufferBindingSize / perTile / 4) * 4);
  const common = { ...ZERO_PARAMS, N: c.N, H: c.H, W: c.W, Ho: c.Ho, Wo: c.Wo, TY, TX, TN: tiles, pad: c.pad };
  const constants = {
    WG,
    HAS_BIAS: epi.bias ? 1 : 0,
    AFFINE: epi.scale ? 1 : 0,
    RESIDUAL: epi.residual ? 1 : 0,
    ACT: epi.relu ? 1 : 0,
  };
  for (let t0 = 0; t0 < tiles; t0 += chunk) {
    const T = Math.min(chunk, tiles - t0);
    const T4 = Math.ceil(T / 4) * 4;
    const v = e.empty([1, 16 * c.CI, 1, T4], 'f32', `${op}.winograd_input`);
    const inTotal = c.CI * T4;
    e.dispatch({
      kernel,
      entry: 'transform_input',
      bindings: { x, v },
      params: { ...common, CI: c.CI, T, T4, t0, total: inTotal },
      workgroups: grid1d(inTotal, WG),
      constants: { WG },
      op,
    });
    const m = e.empty([1, 16 * c.CO, 1, T4], 'f32', `${op}.winograd_product`);
    runGemms(
      e,
      op,
      variant,
      v,
      u,
      [
        {
          conv: { ...productGemm(c, T4), flops: (2 * c.N * c.CO * c.Ho * c.Wo * c.CI * 9 * T) / tiles },
          view: { mode: 0, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 },
        },
      ],
      m,
    );
    e.release(v);
    const outTotal = c.CO * T;
    e.dispatch({
      kernel,
      entry: 'transform_output',
      bindings: { m, y, bias: epi.bias ?? m, scale: epi.scale ?? m, shift: epi.shift ?? m, res: epi.residual ?? m },
      params: { ...common, CO: c.CO, T, T4, t0, total: outTotal },
      workgroups: grid1d(outTotal, WG),
      constants,
      op,
    });
    e.release(m);
  }
}

/** The 16 products as one grouped 1x1 conv: group xi multiplies (CO x CI) by (CI x T4). */
function productGemm(c: WinogradConv, T4: number): GemmConv {
  return {
    N: 1,
    G: 16,
    Ci: c.CI,
    Co: c.CO,
    XC: 16 * c.CI,
    XH: 1,
    XW: T4,
    Ho: 1,
    Wo: T4,
    KH: 1,
    KW: 1,
    SH: 1,
    SW: 1,
    DH: 1,
    DW: 1,
    rowOrigin: 0,
    colOrigin: 0,
    YH: 1,
    YW: T4,
    YSH: 1,
    YSW: 1,
    YRH: 0,
    YRW: 0,
  };
}
