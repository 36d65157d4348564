/**
 * Bilinear resize with PyTorch's `F.interpolate(mode='bilinear', align_corners=False,
 * antialias=False)` semantics, the same rule as the engine's GPU resize kernel, so CPU-side
 * upsampling of maps agrees with it. No antialiasing: large downscales alias, unlike PIL's
 * filtered resize that torchvision applies to PIL images (values differ there by a few levels).
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
