/**
 * PNG encoding under Node with pngjs. encodePng lives here rather than in a browser-safe module
 * because pngjs compresses with node:zlib; in a browser, draw to a canvas and use
 * OffscreenCanvas.convertToBlob({ type: 'image/png' }) instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { assertRgbImage, type RgbImage } from './image.js';

/** Raised instead of silently replacing a file the user already has. */
export class OutputExistsError extends Error {
  override name = 'OutputExistsError';

  constructor(readonly path: string) {
    super(`refusing to overwrite existing file "${path}"; pass --force (force: true) to replace it, or choose another output path`);
  }
}

/** 8-bit RGB PNG bytes, no alpha channel. */
export function encodePng(img: RgbImage): Uint8Array {
  assertRgbImage(img, 'PNG image');
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Writes img as a PNG, creating the parent directory. Without `force` an existing file is never
 * replaced: the exclusive-create flag makes the check and the write one step, so there is no
 * window in which another process's file could be clobbered.
 */
export async function writePng(path: string, img: RgbImage, options: { force?: boolean } = {}): Promise<void> {
  const bytes = encodePng(img);
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, bytes, { flag: options.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputExistsError(path);
    throw err;
  }
}
