/**
 * Browser image decoding through the browser's own decoders (createImageBitmap), so every format
 * the browser displays is accepted. No Node imports here: this file goes into the browser bundle.
 *
 * Differences from the Node decoder worth knowing when comparing results: the browser applies
 * EXIF orientation (the spec gives no way to turn that off) and may decode JPEG with a slightly
 * different IDCT, so pixels can differ by a few levels. Colour-space conversion is turned off
 * to stay as close as possible to the raw file values that PIL and jpeg-js return.
 */
import { ImageDecodeError } from './errors.js';
import { compositeRgbaOverWhite, type RgbImage } from './image.js';

/** Decodes an image file held in a Blob (or File) with the browser's decoders. */
export async function decodeImageBlob(blob: Blob, name = blob instanceof File ? blob.name : 'image'): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new ImageDecodeError(
      name,
      `the browser could not decode it (${blob.type || 'unknown type'}: ${(err as Error).message})`,
      'Use a PNG or JPEG file, and check that it opens in an image viewer',
      { cause: err },
    );
  }
  try {
    return bitmapToRgb(bitmap);
  } finally {
    bitmap.close();
  }
}

/** The pixels of a decoded bitmap as RGB, alpha composited over white. The caller closes the bitmap. */
export function bitmapToRgb(bitmap: ImageBitmap): RgbImage {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D context on OffscreenCanvas');
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  // Same alpha rule as the Node decoder, so both environments feed the model the same pixels.
  return compositeRgbaOverWhite(rgba, bitmap.width, bitmap.height);
}
