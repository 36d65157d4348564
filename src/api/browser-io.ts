/**
 * The high-level API's picture and model side in a browser: models from URLs, files or bytes; pictures
 * from anything a page holds (files, <img>, canvases, bitmaps); results drawn into a canvas. The Node
 * counterpart with the same names is node-io.ts.
 */
import type { ClassMeans } from '../e2cm/class-means.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import type { Model } from '../graph/model.js';
import { bitmapToRgb, decodeImageBlob } from '../image/decode-browser.js';
import { ImageDecodeError } from '../image/errors.js';
import { assertRgbImage, compositeRgbaOverWhite, type RgbImage } from '../image/image.js';
import { fetchSafetensors, parseSafetensors, tooLarge, type SafetensorsFile } from '../io/safetensors.js';
import { describeValue, modelFromSafetensors, type LoadModelOptions } from './load-model.js';
import { MAX_WEIGHTS_BYTES } from '../io/limits.js';
import { downloadPicture } from './download.js';

/** Where a model comes from in a browser: the URL of a `.safetensors` file (relative to the page), its bytes, or a File/Blob. */
export type ModelSource = string | URL | ArrayBuffer | Uint8Array | Blob;

/**
 * Where a picture comes from in a browser: a URL, a File/Blob or its bytes (PNG, JPEG, anything the
 * browser decodes), an `<img>`, a canvas, an ImageBitmap, ImageData or a video frame.
 */
export type ImageInput = string | URL | ArrayBuffer | Uint8Array | Blob | ImageData | ImageBitmapSource;

/**
 * Loads a model (weights exported by tools/export_weights.py). Release it with `model.release()` or
 * `using`; the GPU engine it was built on goes with the last model released.
 *
 * ```ts
 * const model = await loadModel('default-vgg.safetensors');
 * ```
 */
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<Model> {
  return modelFromSafetensors(await readModelFile(source), options);
}

/** Loads E2CM class means (for `layerTracer`, `simulateEarlyExit`) written by `layertracer class-means`: a URL, a File/Blob or its bytes. */
export async function loadClassMeans(source: ModelSource): Promise<ClassMeans> {
  return classMeansFromFile(await readModelFile(source));
}

/** Reads a picture into RGB (transparency composited over white, no colour-space conversion where the browser allows). */
export async function readImage(source: ImageInput): Promise<RgbImage> {
  if (typeof source === 'string' || source instanceof URL) return decodeImageBlob(await download(String(source)), String(source));
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return decodeImageBlob(new Blob([source as BlobPart]), 'image bytes');
  if (source instanceof Blob) return decodeImageBlob(source);
  if (typeof ImageData !== 'undefined' && source instanceof ImageData)
    return compositeRgbaOverWhite(source.data, source.width, source.height);
  if (isBitmapSource(source)) return readBitmapSource(source);
  throw new TypeError(
    `readImage: cannot read a picture from ${describeValue(source)}; pass a URL, a File/Blob, its bytes, an <img>, a canvas, an ImageBitmap or ImageData`,
  );
}

/** Draws an RGB picture (e.g. `explanation.overlay`) into a canvas, resizing the canvas to the picture. */
export function drawImage(canvas: HTMLCanvasElement | OffscreenCanvas, image: RgbImage): void {
  assertRgbImage(image, 'drawImage picture');
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new Error('drawImage: the canvas has no 2D context (it is already used for WebGL or WebGPU); pass a fresh canvas');
  ctx.putImageData(toImageData(image), 0, 0);
}

/** An RGB picture as opaque RGBA ImageData, for `putImageData` or `createImageBitmap`. */
export function toImageData(image: RgbImage): ImageData {
  assertRgbImage(image, 'picture');
  const out = new ImageData(image.width, image.height);
  for (let i = 0, n = image.width * image.height; i < n; i++) {
    out.data[4 * i] = image.data[3 * i];
    out.data[4 * i + 1] = image.data[3 * i + 1];
    out.data[4 * i + 2] = image.data[3 * i + 2];
    out.data[4 * i + 3] = 255;
  }
  return out;
}

async function readModelFile(source: ModelSource): Promise<SafetensorsFile> {
  if (typeof source === 'string' || source instanceof URL) return fetchSafetensors(source, undefined, { maxBytes: MAX_WEIGHTS_BYTES });
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return parseSafetensors(source, 'model bytes');
  if (source instanceof Blob) {
    const name = (source as File).name || 'model blob';
    if (source.size > MAX_WEIGHTS_BYTES) throw tooLarge(name, source.size, MAX_WEIGHTS_BYTES);
    return parseSafetensors(await source.arrayBuffer(), name);
  }
  throw new TypeError(
    `loadModel: cannot load a model from ${describeValue(source)}; pass the URL of a .safetensors file, a File/Blob, or its bytes (ArrayBuffer, Uint8Array)`,
  );
}

async function download(url: string): Promise<Blob> {
  return (await downloadPicture(url)).blob();
}

function isBitmapSource(source: unknown): source is ImageBitmapSource {
  const kinds = [
    'HTMLImageElement',
    'SVGImageElement',
    'HTMLCanvasElement',
    'OffscreenCanvas',
    'ImageBitmap',
    'HTMLVideoElement',
    'VideoFrame',
  ];
  return kinds.some((kind) => {
    const type = (globalThis as Record<string, unknown>)[kind];
    return typeof type === 'function' && source instanceof type;
  });
}

async function readBitmapSource(source: ImageBitmapSource): Promise<RgbImage> {
  const name = describeValue(source);
  // An <img> still loading has no pixels yet; decode() waits for them (and fails on a broken image).
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement) {
    try {
      await source.decode();
    } catch (cause) {
      throw new ImageDecodeError(source.currentSrc || source.src || 'img', 'the <img> has no decodable picture', 'Check its src', {
        cause,
      });
    }
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(source, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (cause) {
    throw new ImageDecodeError(name, `the browser could not read its pixels (${(cause as Error).message})`, 'Pass a loaded picture', {
      cause,
    });
  }
  try {
    return bitmapToRgb(bitmap);
  } catch (cause) {
    if ((cause as Error).name === 'SecurityError') {
      throw new ImageDecodeError(
        name,
        'its pixels are cross-origin and the server did not allow reading them (CORS)',
        'Serve the picture from the page\'s origin, or from a server that sends Access-Control-Allow-Origin and set crossOrigin="anonymous" on the <img>',
        { cause },
      );
    }
    throw cause;
  } finally {
    bitmap.close();
  }
}
