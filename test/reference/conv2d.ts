// Plain CPU references for conv2d, written from PyTorch's definition of nn.functional.conv2d
// (cross-correlation, zero padding, floor output size, dilation, groups). Accumulates in float64.
//
//   y[n, o, i, j] = b[o] + sum_{c in group(o), p, q} x[n, c, i*sh - ph + p*dh, j*sw - pw + q*dw] * w[o, c - g*Cg, p, q]
//
// The backward passes are written as the adjoints of that sum (scatter form), deliberately different
// from the gather formulation the GPU kernels use.

export interface ConvGeometry {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

export function convGeometry(
  opts: {
    stride?: number | [number, number];
    padding?: number | [number, number];
    dilation?: number | [number, number];
    groups?: number;
  } = {},
): ConvGeometry {
  const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
    v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  return { stride: pair(opts.stride, 1), padding: pair(opts.padding, 0), dilation: pair(opts.dilation, 1), groups: opts.groups ?? 1 };
}

export function convOutSize(inSize: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((inSize + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/** x: (N, C, H, W), w: (O, C/groups, KH, KW), b: (O) or null -> y: (N, O, Ho, Wo) */
export function conv2dRef(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  b: Float32Array | null,
  g: ConvGeometry,
  relu = false,
): { y: Float32Array; shape: [number, number, number, number] } {
  const [N, C, H, W] = xShape;
  const [O, Cg, KH, KW] = wShape;
  const G = g.groups;
  const Og = O / G;
  const Ho = convOutSize(H, KH, g.stride[0], g.padding[0], g.dilation[0]);
  const Wo = convOutSize(W, KW, g.stride[1], g.padding[1], g.dilation[1]);
  if (Cg * G !== C) throw new Error(`reference: C=${C} vs Cg=${Cg} x groups=${G}`);
  const y = new Float32Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          let s = b ? b[o] : 0;
          for (let c = 0; c < Cg; c++) {
            const xc = grp * Cg + c;
            for (let p = 0; p < KH; p++) {
              const ih = i * g.stride[0] - g.padding[0] + p * g.dilation[0];
              if (ih < 0 || ih >= H) continue;
              for (let q = 0; q < KW; q++) {
                const iw = j * g.stride[1] - g.padding[1] + q * g.dilation[1];
                if (iw < 0 || iw >= W) continue;
                s += x[((n * C + xc) * H + ih) * W + iw] * w[((o * Cg + c) * KH + p) * KW + q];
              }
            }
          }
          y[((n * O + o) * Ho + i) * Wo + j] = relu ? Math.max(0, s) : s;
        }
      }
    }
  }
  return { y, shape: [N, O, Ho, Wo] };
}

/** dy: (N, O, Ho, Wo), w -> dx: (N, C, H, W); each dy element scatters into the inputs it read. */
export function conv2dBackwardInputRef(
  dy: Float32Array,
  dyShape: readonly number[],
  w: Float32Array,
  wShape: readonly number[],
  xShape: readonly number[],
  g: ConvGeometry,
): Float32Array {
  const [N, C, H, W] = xShape;
  const [, O, Ho, Wo] = dyShape;
  const [, Cg, KH, KW] = wShape;
  const Og = O / g.groups;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          const d = dy[((n * O + o) * Ho + i) * Wo + j];
          if (d === 0) continue;
          for (let c = 0; c < Cg; c++) {
            const xc = grp * Cg + c;
            for (let p = 0; p < KH; p++) {
              const ih = i * g.stride[0] - g.padding[0] + p * g.dilation[0];
              if (ih < 0 || ih >= H) continue;
              for (let q = 0; q < KW; q++) {
                const iw = j * g.stride[1] - g.padding[1] + q * g.dilation[1];
                if (iw < 0 || iw >= W) continue;
                dx[((n * C + xc) * H + ih) * W + iw] += d * w[((o * Cg + c) * KH + p) * KW + q];
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dx);
}

/** x, dy -> dw: (O, C/groups, KH, KW) */
export function conv2dBackwardWeightRef(
  x: Float32Array,
  xShape: readonly number[],
  dy: Float32Array,
  dyShape: readonly number[],
  wShape: readonly number[],
  g: ConvGeometry,
): Float32Array {
  const [N, C, H, W] = xShape;
  const [, O, Ho, Wo] = dyShape;
  const [, Cg, KH, KW] = wShape;
  const Og = O / g.groups;
  const dw = new Float64Array(O * Cg * KH * KW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          const d = dy[((n * O + o) * Ho + i) * Wo + j];
          for (let c = 0; c < Cg; c++) {
            const xc = grp * Cg + c;
            for (let p = 0; p < KH; p++) {
              const ih = i * g.stride[0] - g.padding[0] + p * g.dilation[0];
              if (ih < 0 || ih >= H) continue;
              for (let q = 0; q < KW; q++) {
                const iw = j * g.stride[1] - g.padding[1] + q * g.dilation[1];
                if (iw < 0 || iw >= W) continue;
                dw[((o * Cg + c) * KH + p) * KW + q] += d * x[((n * C + xc) * H + ih) * W + iw];
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dw);
}
