/**
 * Node image decoding: PNG through pngjs, JPEG through jpeg-js (both pure JavaScript, so no native
 * build step). The format comes from the magic bytes, never from the file extension.
 */
import { readFile } from 'node:fs/promises';
import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageDecodeError } from './errors.js';
import { detectImageFormat, SUPPORTED_FORMATS_TEXT } from './format.js';
import { compositeRgbaOverWhite, type RgbImage } from './image.js';

/** Caps that keep a hostile or absurd file (a "decompression bomb") from exhausting memory. */
export interface DecodeLimits {
  /** Largest width*height accepted, in millions of pixels. Default 100 (a 10000x10000 photo). */
  maxMegapixels?: number;
  /** Most memory the JPEG decoder may allocate, in MiB. Default 1024. */
  maxMemoryMB?: number;
}

const DEFAULT_MAX_MEGAPIXELS = 100;
const DEFAULT_MAX_MEMORY_MB = 1024;

const CORRUPT_HINT = 'Check that the file was copied or downloaded completely, or re-save it with an image editor';

/** Reads and decodes a PNG or JPEG file into RGB; transparency is composited over white. */
export async function readImageFile(path: string, limits: DecodeLimits = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageDecodeError(path, 'no such file', 'Check the path and the current directory', { cause: err });
    if (code === 'EISDIR')
      throw new ImageDecodeError(path, 'this is a directory, not a file', 'Pass the image files inside it', { cause: err });
    throw new ImageDecodeError(path, `the file could not be read (${code ?? String(err)})`, 'Check its permissions', { cause: err });
  }
  return decodeImageBytes(bytes, path, limits);
}

/** Decodes PNG or JPEG bytes already in memory; `name` is only used in error messages. */
export function decodeImageBytes(bytes: Uint8Array, name: string, limits: DecodeLimits = {}): RgbImage {
  const maxMegapixels = limits.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  const detected = detectImageFormat(bytes);
  switch (detected.format) {
    case 'png':
      return decodePng(bytes, name, maxMegapixels);
    case 'jpeg':
      return decodeJpegBytes(bytes, name, maxMegapixels, limits.maxMemoryMB ?? DEFAULT_MAX_MEMORY_MB);
    case 'unsupported':
      throw new ImageDecodeError(
        name,
        `unsupported format: this is ${detected.description}; supported formats are ${SUPPORTED_FORMATS_TEXT}`,
        'Convert it to PNG or JPEG first',
      );
  }
}

function tooLarge(name: string, width: number, height: number, maxMegapixels: number): ImageDecodeError {
  return new ImageDecodeError(
    name,
    `the image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels), over the ${maxMegapixels}-megapixel limit`,
    'Downscale it first, or raise maxMegapixels if the file is trusted',
  );
}

function decodePng(bytes: Uint8Array, name: string, maxMegapixels: number): RgbImage {
  // pngjs allocates width*height*4 from the header before inflating anything, so the size
  // limit must be checked on the IHDR chunk (bytes 16..23, big-endian) first.
  if (bytes.length < 24) throw new ImageDecodeError(name, 'the PNG is truncated (no complete header)', CORRUPT_HINT);
  const header = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = header.getUint32(16);
  const height = header.getUint32(20);
  if (width * height > maxMegapixels * 1e6) throw tooLarge(name, width, height, maxMegapixels);

  let png: PNG;
  try {
    // Default options: palettes, grey, 1..16-bit depths all come out as 8-bit RGBA.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new ImageDecodeError(name, `the PNG data is corrupt or truncated (${(err as Error).message})`, CORRUPT_HINT, { cause: err });
  }
  return compositeRgbaOverWhite(png.data, png.width, png.height);
}

function decodeJpegBytes(bytes: Uint8Array, name: string, maxMegapixels: number, maxMemoryMB: number): RgbImage {
  try {
    // formatAsRGBA false: JPEG has no alpha, so ask for RGB directly (grey and CMYK are
    // converted to RGB by jpeg-js). EXIF orientation is not applied, as in PIL's Image.open.
    const img = decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: maxMegapixels,
      maxMemoryUsageInMB: maxMemoryMB,
    });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes('limit exceeded')) {
      throw new ImageDecodeError(
        name,
        `the JPEG is over the decoder's safety limits (${message})`,
        'Downscale it first, or raise maxMegapixels / maxMemoryMB if the file is trusted',
        { cause: err },
      );
    }
    throw new ImageDecodeError(name, `the JPEG data is corrupt or truncated (${message})`, CORRUPT_HINT, { cause: err });
  }
}
