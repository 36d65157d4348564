/**
 * Two resizes, for two jobs:
 * - resizeBilinear / resizeImage: PyTorch's `F.interpolate(mode='bilinear', align_corners=False,
 *   antialias=False)`, the same rule as the engine's GPU resize kernel, so CPU-side upsampling of maps
 *   agrees with it. No antialiasing: a large downscale samples 4 pixels per output and aliases.
 * - resizeImageAntialiased: PIL's `Image.resize(size, BILINEAR)`, which is what torchvision's Resize
 *   does to a PIL image: the triangle filter widens with the downscale factor, so every input pixel
 *   counts. Used for model inputs and for pictures shown at another size.
 */
import { createRgbImage, type RgbImage } from './image.js';

/** For each output index along one axis: the two source indices and the weight of the second. */
interface AxisTaps {
  lo: Int32Array;
  hi: Int32Array;
  w: Float32Array;
}

function axisTaps(inSize: number, outSize: number): AxisTaps {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    // Pixel centres map to pixel centres; PyTorch clamps negative source positions to 0.
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    lo[o] = i0;
    hi[o] = Math.min(i0 + 1, inSize - 1);
    w[o] = src - i0;
  }
  return { lo, hi, w };
}

function checkSizes(srcW: number, srcH: number, dstW: number, dstH: number): void {
  for (const [label, v] of [
    ['source width', srcW],
    ['source height', srcH],
    ['target width', dstW],
    ['target height', dstH],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`resize: ${label} must be a positive integer, got ${v}`);
  }
}

/**
 * Resizes `channels` interleaved planes (HWC layout; 1 for a plain H*W map).
 * src: (srcH, srcW, channels) -> (dstH, dstW, channels), as float.
 */
export function resizeBilinear(src: ArrayLike<number>, srcW: number, srcH: number, dstW: number, dstH: number, channels = 1): Float32Array {
  checkSizes(srcW, srcH, dstW, dstH);
  if (src.length !== srcW * srcH * channels) {
    throw new RangeError(`resize: expected ${srcW}x${srcH}x${channels} = ${srcW * srcH * channels} values, got ${src.length}`);
  }
  const xs = axisTaps(srcW, dstW);
  const ys = axisTaps(srcH, dstH);
  const out = new Float32Array(dstW * dstH * channels);
  for (let y = 0; y < dstH; y++) {
    const row0 = ys.lo[y] * srcW;
    const row1 = ys.hi[y] * srcW;
    const wy = ys.w[y];
    for (let x = 0; x < dstW; x++) {
      const c0 = xs.lo[x];
      const c1 = xs.hi[x];
      const wx = xs.w[x];
      for (let c = 0; c < channels; c++) {
        const top = src[(row0 + c0) * channels + c] * (1 - wx) + src[(row0 + c1) * channels + c] * wx;
        const bottom = src[(row1 + c0) * channels + c] * (1 - wx) + src[(row1 + c1) * channels + c] * wx;
        out[(y * dstW + x) * channels + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Bilinear resize of an RGB image, rounded back to 8 bits. */
export function resizeImage(img: RgbImage, width: number, height: number): RgbImage {
  const resized = resizeBilinear(img.data, img.width, img.height, width, height, 3);
  const out = createRgbImage(width, height);
  for (let i = 0; i < resized.length; i++) out.data[i] = Math.round(resized[i]);
  return out;
}

/**
 * PIL's fixed-point resampling (Resample.c), reproduced so inputs match torchvision's PIL pipeline:
 * weights are normalised per output pixel, then rounded to PRECISION_BITS; each pass adds half a unit
 * before the shift (round to nearest) and clips to 8 bits; the horizontal pass runs first and its
 * 8-bit result feeds the vertical one.
 */
const PRECISION_BITS = 32 - 8 - 2;

interface FilterTaps {
  /** First source index of each output's window. */
  start: Int32Array;
  /** Window length of each output. */
  count: Int32Array;
  /** Fixed-point weights, `stride` per output. */
  weights: Int32Array;
  stride: number;
}

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle, support 1) filter. */
function triangleTaps(inSize: number, outSize: number): FilterTaps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support (1) widened by the downscale factor
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const w = new Float64Array(stride);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C's (int) cast truncates towards zero; negative starts are clamped to 0 anyway.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const t = Math.abs((i - center + 0.5) / filterScale);
      w[i - lo] = t < 1 ? 1 - t : 0;
      total += w[i - lo];
    }
    start[o] = lo;
    count[o] = hi - lo;
    for (let i = 0; i < hi - lo; i++) {
      const v = total !== 0 ? w[i] / total : w[i];
      weights[o * stride + i] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
  }
  return { start, count, weights, stride };
}

const clip8 = (acc: number) => Math.min(255, Math.max(0, Math.floor(acc / (1 << PRECISION_BITS))));

/**
 * Antialiased resize of an RGB image, equal to PIL's `Image.resize((width, height), Image.BILINEAR)`
 * (and so to torchvision's Resize on PIL images). Downscales average over the whole footprint of each
 * output pixel instead of sampling four pixels, so fine detail does not alias into false patterns.
 */
export function resizeImageAntialiased(img: RgbImage, width: number, height: number): RgbImage {
  checkSizes(img.width, img.height, width, height);
  const horizontal = width !== img.width;
  const vertical = height !== img.height;
  let src = img;
  if (horizontal) {
    const taps = triangleTaps(img.width, width);
    const out = createRgbImage(width, img.height);
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width;
      for (let x = 0; x < width; x++) {
        const k = x * taps.stride;
        for (let c = 0; c < 3; c++) {
          let acc = 1 << (PRECISION_BITS - 1);
          for (let i = 0; i < taps.count[x]; i++) acc += img.data[(row + taps.start[x] + i) * 3 + c] * taps.weights[k + i];
          out.data[(y * width + x) * 3 + c] = clip8(acc);
        }
      }
    }
    src = out;
  }
  if (!vertical) return horizontal ? src : { width, height, data: img.data.slice() };
  const taps = triangleTaps(src.height, height);
  const out = createRgbImage(width, height);
  for (let y = 0; y < height; y++) {
    const k = y * taps.stride;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < taps.count[y]; i++) acc += src.data[((taps.start[y] + i) * width + x) * 3 + c] * taps.weights[k + i];
        out.data[(y * width + x) * 3 + c] = clip8(acc);
      }
    }
  }
  return out;
}
