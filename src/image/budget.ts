/**
 * Images under a budget, decided from the header before any decoder allocates (browser-safe: no Node
 * imports). A hostile or broken file can claim a huge image in a few bytes; the decoders would
 * allocate width*height first and find out later. So the header is read here and the file refused when
 *   - its pixel count passes the budget (`maxMegapixels`, default 12: a 4000x3000 phone photo; the
 *     models see at most a few hundred pixels a side, so a bigger picture only costs memory),
 *   - the file is larger than any image within the budget can be,
 *   - its compressed data cannot fill the declared image (deflate expands at most 1032:1, and a JPEG
 *     codes every 8x8 block's DC value with at least one bit),
 * and the Node decoder bounds inflation by the exact number of bytes the declared PNG needs
 * (`pngRawBytes`, interlaced passes included), so neither a bomb nor a short stream gets through.
 */
import { ImageDecodeError } from './errors.js';

/** How large a picture the decoders accept (a decompression bomb is refused before it is inflated). */
export interface DecodeLimits {
  /** Largest width*height accepted, in millions of pixels. Default 12. */
  maxMegapixels?: number;
  /** Most memory the JPEG decoder may allocate, in MiB. Default: from the pixel budget (16 bytes a pixel + 32). */
  maxMemoryMB?: number;
}

export const DEFAULT_MAX_MEGAPIXELS = 12;

/** Deflate's best case: 258 bytes from a 1-bit code pair... at most 1032 output bytes per input byte. */
const DEFLATE_MAX_RATIO = 1032;

export interface Budget {
  maxPixels: number;
  maxMegapixels: number;
  maxMemoryMB: number;
  /** No PNG or JPEG within the pixel budget needs more bytes than this. */
  maxFileBytes: number;
}

export function budgetOf(limits: DecodeLimits = {}): Budget {
  const maxMegapixels = limits.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  if (!(maxMegapixels > 0) || !Number.isFinite(maxMegapixels))
    throw new RangeError(`maxMegapixels must be a positive number, got ${maxMegapixels}`);
  const maxPixels = Math.floor(maxMegapixels * 1e6);
  const maxMemoryMB = limits.maxMemoryMB ?? Math.ceil((maxPixels * 16) / 2 ** 20) + 32;
  // An uncompressed 16-bit RGBA PNG (8 bytes a pixel, stored deflate blocks) plus room for metadata.
  const maxFileBytes = maxPixels * 8 + maxPixels / 8 + 16 * 2 ** 20;
  return { maxPixels, maxMegapixels, maxMemoryMB, maxFileBytes };
}

const DOWNSCALE = 'Downscale it first (the models see a few hundred pixels a side), or raise maxMegapixels if the file is trusted';
const CORRUPT = 'Check that the file was copied or downloaded completely, or re-save it with an image editor';

function refuse(name: string, reason: string, hint = CORRUPT): ImageDecodeError {
  return new ImageDecodeError(name, reason, hint);
}

export function checkFileSize(name: string, bytes: number, budget: Budget): void {
  if (bytes > budget.maxFileBytes) {
    throw refuse(
      name,
      `the file is ${(bytes / 2 ** 20).toFixed(0)} MiB, more than any image within the ${budget.maxMegapixels}-megapixel limit needs`,
      DOWNSCALE,
    );
  }
}

/**
 * A strip more than this many times longer than wide is no picture a model can read, and resizing its
 * shorter side to a model's 256 would make a giant one; decoders also spend per-row time on a 1-pixel-wide
 * image millions of rows tall.
 */
export const MAX_ASPECT_RATIO = 100;

function checkPixels(name: string, width: number, height: number, budget: Budget): void {
  if (Math.max(width, height) > MAX_ASPECT_RATIO * Math.min(width, height)) {
    throw refuse(
      name,
      `the image is ${width}x${height}, more than ${MAX_ASPECT_RATIO} times longer than it is wide`,
      'Crop it to the part to explain, or re-save it at its real size',
    );
  }
  if (width * height > budget.maxPixels) {
    throw refuse(
      name,
      `the image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels), over the ${budget.maxMegapixels}-megapixel limit`,
      DOWNSCALE,
    );
  }
}

// ------------------------------------------------------------------------------------------ PNG

export interface PngLayout {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
  /** The IDAT chunk bodies, in order (views into the file). */
  idat: Uint8Array[];
  idatBytes: number;
  /** The exact size of the inflated image data: filter bytes and scanlines, every Adam7 pass. */
  rawBytes: number;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of inflated data a PNG of this header needs: one filter byte per scanline plus the packed samples. */
export function pngRawBytes(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0);
  if (!interlaced) return rows(width, height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += rows(Math.ceil(Math.max(0, width - x0) / dx), Math.ceil(Math.max(0, height - y0) / dy));
  return total;
}

/** Walks the chunks (bounds-checked, no allocation from header values) and checks the header against the budget. */
export function pngLayout(bytes: Uint8Array, name: string, budget: Budget): PngLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33) throw refuse(name, 'the PNG is truncated (no complete header)');
  const type = (at: number) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (view.getUint32(8) !== 13 || type(12) !== 'IHDR') throw refuse(name, 'the PNG is corrupt: it does not start with an IHDR header');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [bitDepth, colorType, compression, filter, interlace] = bytes.subarray(24, 29);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff)
    throw refuse(name, `the PNG header declares an impossible size ${width}x${height}`);
  checkPixels(name, width, height, budget);
  if (!(colorType in CHANNELS) || !DEPTHS[colorType].includes(bitDepth))
    throw refuse(name, `the PNG header declares an invalid colour type ${colorType} with bit depth ${bitDepth}`);
  if (compression !== 0 || filter !== 0 || interlace > 1)
    throw refuse(name, `the PNG header declares unknown compression ${compression}, filter ${filter} or interlace ${interlace}`);
  const rawBytes = pngRawBytes(width, height, CHANNELS[colorType] * bitDepth, interlace === 1);
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let at = 8;
  let ended = false;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const kind = type(at + 4);
    if (length > 0x7fffffff || at + 12 + length > bytes.length) {
      throw refuse(name, `the PNG is truncated: chunk ${JSON.stringify(kind)} declares ${length} bytes but the file ends first`);
    }
    if (kind === 'IDAT') {
      idat.push(bytes.subarray(at + 8, at + 8 + length));
      idatBytes += length;
    }
    at += 12 + length;
    if (kind === 'IEND') {
      ended = true;
      break;
    }
  }
  if (!idat.length) throw refuse(name, `the PNG has no image data (no IDAT chunk)${ended ? '' : '; the file is truncated'}`);
  // zlib wraps deflate in 6 bytes (2 header, 4 checksum).
  if (Math.max(0, idatBytes - 6) * DEFLATE_MAX_RATIO < rawBytes) {
    throw refuse(
      name,
      `the PNG declares ${width}x${height} pixels but holds only ${idatBytes} bytes of compressed data, which cannot fill them (${rawBytes} bytes needed)`,
    );
  }
  return { width, height, bitDepth, colorType, interlaced: interlace === 1, idat, idatBytes, rawBytes };
}

// ------------------------------------------------------------------------------------------ JPEG

export interface JpegLayout {
  width: number;
  height: number;
  components: number;
  progressive: boolean;
  /** 8x8 blocks over all components: each has a DC value coded with at least one bit. */
  blocks: number;
}

/** Frame types jpeg-js decodes: baseline, extended sequential, progressive (all Huffman). */
const SUPPORTED_SOF = new Set([0xc0, 0xc1, 0xc2]);

/** Reads markers up to the frame header (SOF), skipping segments by their lengths, and checks it against the budget. */
export function jpegLayout(bytes: Uint8Array, name: string, budget: Budget): JpegLayout {
  let at = 2;
  for (;;) {
    while (at < bytes.length && bytes[at] !== 0xff) at++; // tolerate junk between segments, as decoders do
    while (at < bytes.length && bytes[at] === 0xff) at++;
    if (at >= bytes.length) throw refuse(name, 'the JPEG is truncated: it ends before its frame header');
    const marker = bytes[at++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) throw refuse(name, 'the JPEG is corrupt: image data comes before any frame header');
    if (at + 2 > bytes.length) throw refuse(name, 'the JPEG is truncated inside a segment header');
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (length < 2) throw refuse(name, `the JPEG is corrupt: a segment declares an impossible length ${length}`);
    if (at + length > bytes.length) throw refuse(name, `the JPEG is truncated: a segment declares ${length} bytes but the file ends first`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (!isSof) {
      at += length;
      continue;
    }
    if (!SUPPORTED_SOF.has(marker))
      throw refuse(
        name,
        `this JPEG uses a coding the decoder does not support (frame type 0x${marker.toString(16)}: lossless, hierarchical or arithmetic)`,
        'Re-save it as a baseline or progressive JPEG, or as PNG',
      );
    if (length < 8) throw refuse(name, 'the JPEG frame header is truncated');
    const height = (bytes[at + 3] << 8) | bytes[at + 4];
    const width = (bytes[at + 5] << 8) | bytes[at + 6];
    const n = bytes[at + 7];
    if (width === 0 || height === 0) throw refuse(name, `the JPEG frame header declares an unusable size ${width}x${height}`);
    if (n === 0 || length < 8 + 3 * n) throw refuse(name, `the JPEG frame header is corrupt (${n} components in ${length} bytes)`);
    checkPixels(name, width, height, budget);
    const sampling = Array.from({ length: n }, (_, i) => ({ h: bytes[at + 9 + 3 * i] >> 4, v: bytes[at + 9 + 3 * i] & 15 }));
    if (sampling.some((s) => s.h < 1 || s.h > 4 || s.v < 1 || s.v > 4))
      throw refuse(name, 'the JPEG frame header declares invalid sampling factors');
    const hMax = Math.max(...sampling.map((s) => s.h));
    const vMax = Math.max(...sampling.map((s) => s.v));
    let blocks = 0;
    for (const s of sampling) blocks += Math.ceil(Math.ceil((width * s.h) / hMax) / 8) * Math.ceil(Math.ceil((height * s.v) / vMax) / 8);
    const dataBits = (bytes.length - at - length) * 8;
    if (dataBits < blocks) {
      throw refuse(
        name,
        `the JPEG declares ${width}x${height} pixels (${blocks} blocks) but holds only ${bytes.length} bytes, which cannot code them`,
      );
    }
    return { width, height, components: n, progressive: marker === 0xc2, blocks };
  }
}
