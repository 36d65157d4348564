// Plain CPU references for 2-D pooling, written from PyTorch's definitions (float64 arithmetic).
// Backward passes are written the way PyTorch writes them: scatter each output gradient into the
// input positions of its window, visiting outputs in row-major order.

export interface PoolRefOptions {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
  countIncludePad: boolean;
}

export function refPoolOptions(o: {
  kernel: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}): PoolRefOptions {
  const p = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
  const kernel = p(o.kernel);
  return {
    kernel,
    stride: p(o.stride ?? kernel),
    padding: p(o.padding ?? 0),
    dilation: p(o.dilation ?? 1),
    ceilMode: o.ceilMode ?? false,
    countIncludePad: o.countIncludePad ?? true,
  };
}

/** out = floor((in + 2p - d(k-1) - 1 [+ s-1 if ceil]) / s) + 1, minus one if that last window starts past input + left padding. */
export function poolOutSizeRef(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const numerator = size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  let out = Math.floor(numerator / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  return out;
}

export function poolOutShapeRef(shape: readonly number[], o: PoolRefOptions): [number, number, number, number] {
  const [n, c, h, w] = shape;
  return [
    n,
    c,
    poolOutSizeRef(h, o.kernel[0], o.stride[0], o.padding[0], o.dilation[0], o.ceilMode),
    poolOutSizeRef(w, o.kernel[1], o.stride[1], o.padding[1], o.dilation[1], o.ceilMode),
  ];
}

/**
 * Max pool: padding counts as -inf; the first maximum in row-major window order wins; a NaN always
 * replaces the current maximum (so NaN propagates). The argmax starts at the window's first
 * in-bounds tap, which is where PyTorch starts it.
 */
export function maxPoolRef(x: ArrayLike<number>, shape: readonly number[], o: PoolRefOptions): { y: Float64Array; switches: Uint32Array } {
  const [n, c, h, w] = shape;
  const [, , ho, wo] = poolOutShapeRef(shape, o);
  const [kh, kw] = o.kernel;
  const [sh, sw] = o.stride;
  const [ph, pw] = o.padding;
  const [dh, dw] = o.dilation;
  const y = new Float64Array(n * c * ho * wo);
  const switches = new Uint32Array(y.length);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const rows: number[] = [];
        const cols: number[] = [];
        for (let i = 0; i < kh; i++) {
          const r = oh * sh - ph + i * dh;
          if (r >= 0 && r < h) rows.push(r);
        }
        for (let j = 0; j < kw; j++) {
          const q = ow * sw - pw + j * dw;
          if (q >= 0 && q < w) cols.push(q);
        }
        // The first in-bounds tap is PyTorch's initial index. A window of padding only (dilation can
        // make one) has no argmax: -inf and NO_SWITCH.
        let best = -Infinity;
        let arg = rows.length && cols.length ? rows[0] * w + cols[0] : NO_SWITCH;
        for (const r of rows) {
          for (const q of cols) {
            const v = x[plane * h * w + r * w + q];
            if (v > best || Number.isNaN(v)) {
              best = v;
              arg = r * w + q;
            }
          }
        }
        const o2 = (plane * ho + oh) * wo + ow;
        y[o2] = best;
        switches[o2] = arg;
      }
    }
  }
  return { y, switches };
}

export const NO_SWITCH = 0xffffffff;

export function maxPoolBackwardRef(
  dy: ArrayLike<number>,
  switches: ArrayLike<number>,
  inputShape: readonly number[],
  outShape: readonly number[],
): Float64Array {
  const [n, c, h, w] = inputShape;
  const outPlane = outShape[2] * outShape[3];
  const dx = new Float64Array(n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    for (let k = 0; k < outPlane; k++) {
      const s = switches[plane * outPlane + k];
      if (s < h * w) dx[plane * h * w + s] += dy[plane * outPlane + k];
    }
  }
  return dx;
}

interface AvgWindow {
  h0: number;
  h1: number;
  w0: number;
  w1: number;
  divisor: number;
}

/** The in-bounds part of window (oh, ow) and PyTorch's divisor for it. */
function avgWindow(oh: number, ow: number, h: number, w: number, o: PoolRefOptions): AvgWindow {
  const [kh, kw] = o.kernel;
  const [sh, sw] = o.stride;
  const [ph, pw] = o.padding;
  const hs = oh * sh - ph;
  const ws = ow * sw - pw;
  // A ceil_mode window may hang past the padded input; the padded part counts, the overhang does not.
  const he = Math.min(hs + kh, h + ph);
  const we = Math.min(ws + kw, w + pw);
  const h0 = Math.max(hs, 0);
  const w0 = Math.max(ws, 0);
  const h1 = Math.min(he, h);
  const w1 = Math.min(we, w);
  const divisor = o.countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
  return { h0, h1, w0, w1, divisor };
}

export function avgPoolRef(x: ArrayLike<number>, shape: readonly number[], o: PoolRefOptions): Float64Array {
  const [n, c, h, w] = shape;
  const [, , ho, wo] = poolOutShapeRef(shape, o);
  const y = new Float64Array(n * c * ho * wo);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const win = avgWindow(oh, ow, h, w, o);
        if (win.h0 >= win.h1 || win.w0 >= win.w1) continue;
        let sum = 0;
        for (let r = win.h0; r < win.h1; r++) for (let q = win.w0; q < win.w1; q++) sum += x[plane * h * w + r * w + q];
        y[(plane * ho + oh) * wo + ow] = sum / win.divisor;
      }
    }
  }
  return y;
}

export function avgPoolBackwardRef(dy: ArrayLike<number>, inputShape: readonly number[], o: PoolRefOptions): Float64Array {
  const [n, c, h, w] = inputShape;
  const [, , ho, wo] = poolOutShapeRef(inputShape, o);
  const dx = new Float64Array(n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const win = avgWindow(oh, ow, h, w, o);
        const g = dy[(plane * ho + oh) * wo + ow] / win.divisor;
        for (let r = win.h0; r < win.h1; r++) for (let q = win.w0; q < win.w1; q++) dx[plane * h * w + r * w + q] += g;
      }
    }
  }
  return dx;
}

/** Adaptive average pool: output cell i covers [floor(i*in/out), ceil((i+1)*in/out)). */
export function adaptiveRange(i: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)];
}

export function adaptiveAvgPoolRef(x: ArrayLike<number>, shape: readonly number[], out: [number, number]): Float64Array {
  const [n, c, h, w] = shape;
  const [ho, wo] = out;
  const y = new Float64Array(n * c * ho * wo);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oh = 0; oh < ho; oh++) {
      const [h0, h1] = adaptiveRange(oh, h, ho);
      for (let ow = 0; ow < wo; ow++) {
        const [w0, w1] = adaptiveRange(ow, w, wo);
        let sum = 0;
        for (let r = h0; r < h1; r++) for (let q = w0; q < w1; q++) sum += x[plane * h * w + r * w + q];
        y[(plane * ho + oh) * wo + ow] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return y;
}

export function adaptiveAvgPoolBackwardRef(dy: ArrayLike<number>, inputShape: readonly number[], out: [number, number]): Float64Array {
  const [n, c, h, w] = inputShape;
  const [ho, wo] = out;
  const dx = new Float64Array(n * c * h * w);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oh = 0; oh < ho; oh++) {
      const [h0, h1] = adaptiveRange(oh, h, ho);
      for (let ow = 0; ow < wo; ow++) {
        const [w0, w1] = adaptiveRange(ow, w, wo);
        const g = dy[(plane * ho + oh) * wo + ow] / ((h1 - h0) * (w1 - w0));
        for (let r = h0; r < h1; r++) for (let q = w0; q < w1; q++) dx[plane * h * w + r * w + q] += g;
      }
    }
  }
  return dx;
}

export function globalAvgPoolRef(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [n, c, h, w] = shape;
  return adaptiveAvgPoolRef(x, [n, c, h, w], [1, 1]);
}

export function globalAvgPoolBackwardRef(dy: ArrayLike<number>, inputShape: readonly number[]): Float64Array {
  return adaptiveAvgPoolBackwardRef(dy, inputShape, [1, 1]);
}
