/**
 * Node image decoding: PNG through pngjs, JPEG through jpeg-js (both pure JavaScript, so no native
 * build step). The format comes from the magic bytes, never from the file extension.
 */
import { readFile, stat } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { budgetOf, checkFileSize, jpegLayout, pngLayout, type Budget, type DecodeLimits, type PngLayout } from './budget.js';
import { ImageDecodeError } from './errors.js';
import { detectImageFormat, SUPPORTED_FORMATS_TEXT } from './format.js';
import { compositeRgbaOverWhite, type RgbImage } from './image.js';

export { DEFAULT_MAX_MEGAPIXELS, type DecodeLimits } from './budget.js';

const CORRUPT_HINT = 'Check that the file was copied or downloaded completely, or re-save it with an image editor';

/** Reads and decodes a PNG or JPEG file into RGB; transparency is composited over white. */
export async function readImageFile(path: string, limits: DecodeLimits = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (!info.isFile() && !info.isDirectory())
      throw new ImageDecodeError(path, 'this is not a regular file (a pipe or a device)', 'Pass an image file');
    if (info.isFile()) checkFileSize(path, info.size, budgetOf(limits));
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
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
  const budget = budgetOf(limits);
  checkFileSize(name, bytes.length, budget);
  const detected = detectImageFormat(bytes);
  switch (detected.format) {
    case 'png':
      return decodePng(bytes, name, budget);
    case 'jpeg':
      return decodeJpegBytes(bytes, name, budget);
    case 'unsupported':
      throw new ImageDecodeError(
        name,
        `unsupported format: this is ${detected.description}; supported formats are ${SUPPORTED_FORMATS_TEXT}`,
        'Convert it to PNG or JPEG first',
      );
  }
}

function decodePng(bytes: Uint8Array, name: string, budget: Budget): RgbImage {
  const layout = pngLayout(bytes, name, budget);
  checkInflatedSize(layout, name);
  let png: PNG;
  try {
    // Default options: palettes, grey, 1..16-bit depths all come out as 8-bit RGBA.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new ImageDecodeError(name, `the PNG data is corrupt or truncated (${(err as Error).message})`, CORRUPT_HINT, { cause: err });
  }
  return compositeRgbaOverWhite(png.data, png.width, png.height);
}

/**
 * Inflates the image data with the exact size the header implies as the ceiling: more is a bomb, less
 * a file whose end is missing (pngjs would zero-fill it and the run would explain a blank image).
 */
function checkInflatedSize(layout: PngLayout, name: string): void {
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(layout.idat), { maxOutputLength: Math.max(1, layout.rawBytes) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE')
      throw new ImageDecodeError(
        name,
        `the PNG's compressed data inflates to more than the ${layout.rawBytes} bytes its ${layout.width}x${layout.height} header needs (a decompression bomb?)`,
        CORRUPT_HINT,
      );
    if (e.code === 'Z_BUF_ERROR')
      throw new ImageDecodeError(name, `the PNG's image data ends early (its compressed stream is cut off)`, CORRUPT_HINT);
    throw new ImageDecodeError(name, `the PNG's compressed data is corrupt (${e.message})`, CORRUPT_HINT, { cause: err });
  }
  if (inflated.length < layout.rawBytes) {
    throw new ImageDecodeError(
      name,
      `the PNG's image data ends early: ${inflated.length} of the ${layout.rawBytes} bytes its ${layout.width}x${layout.height} header needs`,
      CORRUPT_HINT,
    );
  }
}

function decodeJpegBytes(bytes: Uint8Array, name: string, budget: Budget): RgbImage {
  jpegLayout(bytes, name, budget);
  try {
    // formatAsRGBA false: JPEG has no alpha, so ask for RGB directly (grey and CMYK are
    // converted to RGB by jpeg-js). EXIF orientation is not applied, as in PIL's Image.open.
    const img = decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: budget.maxMegapixels,
      maxMemoryUsageInMB: budget.maxMemoryMB,
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
