/**
 * The one picture type shared by decoders, preprocessing, colormaps and encoders: 8-bit RGB,
 * 3 bytes per pixel, row-major, no alpha. Alpha is resolved at decode time (see decode-node.ts),
 * so every later stage can assume opaque pixels.
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One RGB colour, each channel 0-255. */
export type Rgb = readonly [r: number, g: number, b: number];

/** A new width x height picture filled with one colour (black by default). */
export function createRgbImage(width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`image size must be non-negative integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** Catches images built by hand with a wrong buffer size before they corrupt a later stage. */
export function assertRgbImage(img: RgbImage, what = 'image'): void {
  const expected = img.width * img.height * 3;
  if (img.data.length !== expected) {
    throw new RangeError(`${what} is ${img.width}x${img.height}, which needs ${expected} RGB bytes, but has ${img.data.length}`);
  }
}

/**
 * RGBA -> RGB by compositing over white: out = c*a + 255*(1-a). Chosen over dropping alpha because
 * a canvas (the browser decoder) cannot return the colour under a fully transparent pixel, and
 * pngjs zeroes tRNS colour-keyed pixels; compositing gives the same answer in both environments,
 * and the same picture an image viewer shows.
 */
export function compositeRgbaOverWhite(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3];
    const white = 255 * (255 - a);
    // +127 before the integer division rounds to nearest.
    data[3 * i] = ((rgba[4 * i] * a + white + 127) / 255) | 0;
    data[3 * i + 1] = ((rgba[4 * i + 1] * a + white + 127) / 255) | 0;
    data[3 * i + 2] = ((rgba[4 * i + 2] * a + white + 127) / 255) | 0;
  }
  return { width, height, data };
}

/** Copies src into dst with its top-left corner at (x, y); parts outside dst are clipped. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (let sy = Math.max(0, -y); sy < src.height && y + sy < dst.height; sy++) {
    const from = (sy * src.width + (x0 - x)) * 3;
    dst.data.set(src.data.subarray(from, from + (x1 - x0) * 3), ((y + sy) * dst.width + x0) * 3);
  }
}

/** Nearest-neighbour upscale by an integer factor: keeps 3x3 filter tiles crisp instead of blurred. */
export function upscaleNearest(img: RgbImage, factor: number): RgbImage {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`scale must be a positive integer, got ${factor}`);
  const out = createRgbImage(img.width * factor, img.height * factor);
  for (let y = 0; y < out.height; y++) {
    const srcRow = ((y / factor) | 0) * img.width;
    for (let x = 0; x < out.width; x++) {
      const s = (srcRow + ((x / factor) | 0)) * 3;
      const d = (y * out.width + x) * 3;
      out.data[d] = img.data[s];
      out.data[d + 1] = img.data[s + 1];
      out.data[d + 2] = img.data[s + 2];
    }
  }
  return out;
}
