/**
 * The GEMM convs over dy that backward to the input runs (conv2d.ts chooses among them): one per phase
 * of dx, the transposed rows jobs of stride-2 3x3 convs, and the patch-columns GEMM whose columns
 * col2im sums. Each is a job for the GEMM kernels (conv2d-gemm.ts): the conv over dy and how it reads
 * the forward weight.
 */
import type { KernelVariant } from '../gpu/capabilities.js';
import { pointwiseGemm, type GemmConv, type WeightView } from './conv2d-gemm.js';
import { gcd, isPointwise, type Conv2dGeometry } from './conv2d-geometry.js';

/** How backward reads a pointwise conv's weight: transposed (conv2d_pack.wgsl MODE 1). */
export const TRANSPOSED_POINTWISE: WeightView = { mode: 1, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 };

/**
 * Backward to the input as transposed convs, one per output phase (r_h, r_w) in [0, SH) x [0, SW):
 * input pixel ih = i*SH + r_h receives dy[(ih + PH - kh*DH) / SH] * w[kh] over the taps kh with
 * (r_h + PH - kh*DH) divisible by SH. Those taps are kh0 + j*T (T = SH / gcd(SH, DH)) and read dy at
 * i + q0 - j*D' (D' = DH / gcd(SH, DH)), so each phase is a stride-1 conv of dy with a flipped,
 * subsampled kernel and dilation D' -- the forward GEMM again, stored strided into dx. Stride 1 is
 * the single phase with the whole kernel flipped and padding DH*(KH-1) - PH.
 */
interface AxisPhase {
  r: number;
  count: number; // positions ih = i*S + r, i < count
  k0: number;
  J: number;
  T: number;
  D: number;
  origin: number; // dy index read by i = 0 at GEMM tap 0
}

function axisPhases(S: number, P: number, D: number, K: number, size: number): AxisPhase[] {
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

export interface Job {
  conv: GemmConv;
  view: WeightView;
}

/** dx's phases along H that hold pixels (some may have no taps). */
export function rowPhases(g: Conv2dGeometry): AxisPhase[] {
  return axisPhases(g.SH, g.PH, g.DH, g.KH, g.H).filter((a) => a.count > 0);
}

/**
 * One GEMM conv over dy: rows phase `a` of dx and columns `b` (a phase, or every column read through the
 * whole flipped kernel), its pixels stored every `YSW` columns of dx from `b.r`.
 */
function phaseJob(g: Conv2dGeometry, a: AxisPhase, b: AxisPhase, YSW: number): Job {
  return {
    conv: {
      N: g.N,
      G: g.G,
      Ci: g.Og,
      Co: g.Cg,
      XC: g.O,
      XH: g.Ho,
      XW: g.Wo,
      Ho: a.count,
      Wo: b.count,
      KH: a.J,
      KW: b.J,
      SH: 1,
      SW: 1,
      DH: a.D,
      DW: b.D,
      rowOrigin: a.origin,
      colOrigin: b.origin,
      YH: g.H,
      YW: g.W,
      YSH: g.SH,
      YSW,
      YRH: a.r,
      YRW: b.r,
    },
    view: { mode: 1, JH: a.J, JW: b.J, kh0: a.k0, kw0: b.k0, TH: a.T, TW: b.T },
  };
}

/** The GEMM convs over dy for all phases that have taps; `complete` is false when some pixels get none. */
export function backwardPhases(g: Conv2dGeometry): { jobs: Job[]; complete: boolean } {
  if (isPointwise(g)) {
    // The transpose of a pointwise conv is pointwise: one flat row per image, as in forwardConv.
    const conv = pointwiseGemm(g.N, g.G, g.Og, g.Cg, g.O, g.H * g.W);
    return { jobs: [{ conv, view: TRANSPOSED_POINTWISE }], complete: true };
  }
  const rows = rowPhases(g);
  const cols = axisPhases(g.SW, g.PW, g.DW, g.KW, g.W).filter((a) => a.count > 0);
  const liveRows = rows.filter((a) => a.J > 0);
  const liveCols = cols.filter((a) => a.J > 0);
  const jobs = liveRows.flatMap((a) => liveCols.map((b) => phaseJob(g, a, b, g.SW)));
  return { jobs, complete: liveRows.length === rows.length && liveCols.length === cols.length };
}

/**
 * Backward to the input of a stride-2 3x3 conv at padding 1 along W as one `mid_t2_rows` job per row
 * phase of dx (subgroup kernels), in place of patch columns + col2im: each lane forms 8 consecutive dx
 * pixels, the even ones from kernel tap 1 and the odd ones from taps 0 and 2, reading dy's rows as
 * aligned vec4s. Measured (medians of 7 runs, two interleaved rounds): CIFAR ResNet-20's 16 -> 32 at
 * batch 250 19.8-20.1 against 38.6-39.3 ms, 32 -> 64 16.8-17.3 against 24.3-25.1, 16 -> 32 at batch 8
 * 1.2 against 1.6-1.8, 32 -> 64 at batch 1 0.6 against 0.4-0.6. From 64 dx channels columns win (the
 * mid tile reads dy once per 16 of them): ResNet-18's 64 -> 128 on 56x56 4.3-4.9 against 3.5-3.8 ms at
 * batch 1, ResNet-50's 128 -> 128 7.6-7.9 against 6.4-6.6.
 */
export function transposedRowsJobs(g: Conv2dGeometry, variant: KernelVariant): Job[] | null {
  if (!transposedRowsMayApply(g, variant) || g.W % 8 !== 0 || g.Wo * 2 !== g.W) return null;
  const rows = rowPhases(g);
  // Rows of dx that no tap reaches (a dilation along H that the stride skips) would stay unwritten.
  if (rows.some((a) => a.J === 0)) return null;
  return transposedRowsPhases(g, rows);
}

/** Whether `transposedRowsJobs` may hold at some input size (prepareConv2dWeight packs for it then). */
export function transposedRowsMayApply(g: Conv2dGeometry, variant: KernelVariant): boolean {
  return variant === 'subgroup' && g.SW === 2 && g.KW === 3 && g.PW === 1 && g.DW === 1 && g.Cg > 8 && g.Cg <= 32 && g.Og <= 64;
}

/** The `mid_t2_rows` jobs of row phases `rows` (those with taps): every dx column, the whole flipped kernel along W. */
export function transposedRowsPhases(g: Conv2dGeometry, rows: AxisPhase[]): Job[] {
  const everyColumn: AxisPhase = { r: 0, count: g.W, k0: 0, J: 3, T: 1, D: 1, origin: 0 };
  return rows
    .filter((a) => a.J > 0)
    .map((a) => {
      const job = phaseJob(g, a, everyColumn, 1);
      job.conv.transposedStrideW = 2;
      // 1.5 taps along W per dx pixel: the even pixels take one, the odd ones two
      job.conv.flops = 3 * g.N * g.G * a.count * g.W * g.Cg * g.Og * a.J;
      return job;
    });
}

/**
 * The columns path, for inputs with few channels, where per-phase GEMMs would have only Cg output
 * columns: one pointwise GEMM from dy's O channels to the Cg*KH*KW patch columns (a wide GEMM),
 * col: (N, C*KH*KW, 1, Ho*Wo), then col2im sums each input pixel's covering columns.
 */
export function columnsJob(g: Conv2dGeometry): Job {
  const HWo = g.Ho * g.Wo;
  return {
    conv: {
      N: g.N,
      G: g.G,
      Ci: g.Og,
      Co: g.Cg * g.KH * g.KW,
      XC: g.O,
      XH: 1,
      XW: HWo,
      Ho: 1,
      Wo: HWo,
      KH: 1,
      KW: 1,
      SH: 1,
      SW: 1,
      DH: 1,
      DW: 1,
      rowOrigin: 0,
      colOrigin: 0,
      YH: 1,
      YW: HWo,
      YSH: 1,
      YSW: 1,
      YRH: 0,
      YRW: 0,
    },
    view: { mode: 2, JH: 1, JW: 1, kh0: 0, kw0: 0, TH: 1, TW: 1 },
  };
}
