/**
 * The high-level API's file side under Node: models and pictures from paths, URLs or bytes, PNGs out.
 * The browser counterpart with the same names is browser-io.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassMeans } from '../e2cm/class-means.js';
import { classMeansFromFile } from '../e2cm/means-file.js';
import type { Model } from '../graph/model.js';
import { decodeImageBytes, readImageFile, type DecodeLimits } from '../image/decode-node.js';
import type { RgbImage } from '../image/image.js';
import { SafetensorsError } from '../io/errors.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { fetchSafetensors, parseSafetensors, tooLarge, type SafetensorsFile } from '../io/safetensors.js';
import { projectRoot } from '../util/project-root.js';
import { describeValue, EMBEDDED_MODELS, modelFromSafetensors, type LoadModelOptions } from './load-model.js';
import { MAX_WEIGHTS_BYTES } from '../io/limits.js';
import { downloadPicture } from './download.js';

/**
 * Where a model comes from in Node: a `.safetensors` path, a `file:`/`http(s):` URL, the bytes of
 * such a file, a Blob, or the name of an embedded model (`default-vgg`, `default-resnet`).
 */
export type ModelSource = string | URL | ArrayBuffer | Uint8Array | Blob;

/** Where a picture comes from in Node: a PNG/JPEG path, a `file:`/`http(s):` URL, its bytes (e.g. a Buffer), or a Blob. */
export type ImageInput = string | URL | ArrayBuffer | Uint8Array | Blob;

/**
 * Loads a model (weights exported by tools/export_weights.py, or an embedded one). Release it with
 * `model.release()` or `using`; the GPU engine it was built on goes with the last model released.
 *
 * ```ts
 * const model = await loadModel('default-vgg');
 * ```
 */
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<Model> {
  return modelFromSafetensors(await readModelFile(source), options);
}

/** Reads and decodes a PNG or JPEG into RGB (transparency composited over white). */
export async function readImage(source: ImageInput, limits: DecodeLimits = {}): Promise<RgbImage> {
  if (typeof source === 'string' && isHttpUrl(source)) return decodeImageBytes(await download(source), source, limits);
  if (source instanceof URL) {
    if (source.protocol === 'file:') return readImageFile(fileURLToPath(source), limits);
    return decodeImageBytes(await download(source.href), source.href, limits);
  }
  if (typeof source === 'string') return readImageFile(source.startsWith('file:') ? fileURLToPath(source) : source, limits);
  if (source instanceof Uint8Array) return decodeImageBytes(source, 'image bytes', limits);
  if (source instanceof ArrayBuffer) return decodeImageBytes(new Uint8Array(source), 'image bytes', limits);
  if (source instanceof Blob) return decodeImageBytes(new Uint8Array(await source.arrayBuffer()), blobName(source, 'image blob'), limits);
  throw new TypeError(
    `readImage: cannot read a picture from ${describeValue(source)}; pass a file path, a file: or http(s): URL, a Buffer/Uint8Array, an ArrayBuffer or a Blob`,
  );
}

/**
 * Loads E2CM class means (for `layerTracer`, `simulateEarlyExit`): a `.safetensors` file written by
 * `layertracer class-means`, its URL or bytes, or an embedded model's name for the means shipped with it.
 */
export async function loadClassMeans(source: ModelSource): Promise<ClassMeans> {
  const embedded = typeof source === 'string' && !existsSync(source) ? EMBEDDED_MODELS.find((name) => name === source) : undefined;
  return classMeansFromFile(await readModelFile(embedded ? embeddedModelPath(embedded, 'means') : source));
}

/** The path of an embedded model's weights (or its E2CM class means) inside the installed package. */
export function embeddedModelPath(name: (typeof EMBEDDED_MODELS)[number], file: 'weights' | 'means' = 'weights'): string {
  if (!EMBEDDED_MODELS.includes(name)) throw new RangeError(`"${name}" is not an embedded model; they are ${EMBEDDED_MODELS.join(', ')}`);
  return join(projectRoot(), 'weights', file === 'means' ? `${name}.means.safetensors` : `${name}.safetensors`);
}

async function readModelFile(source: ModelSource): Promise<SafetensorsFile> {
  if (typeof source === 'string' && isHttpUrl(source)) return fetchSafetensors(source, undefined, { maxBytes: MAX_WEIGHTS_BYTES });
  if (source instanceof URL) {
    if (source.protocol === 'file:') return readModelPath(fileURLToPath(source));
    return fetchSafetensors(source, undefined, { maxBytes: MAX_WEIGHTS_BYTES });
  }
  if (typeof source === 'string') return readModelPath(source.startsWith('file:') ? fileURLToPath(source) : source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return parseSafetensors(source, 'model bytes');
  if (source instanceof Blob) {
    const name = blobName(source, 'model blob');
    if (source.size > MAX_WEIGHTS_BYTES) throw tooLarge(name, source.size, MAX_WEIGHTS_BYTES);
    return parseSafetensors(await source.arrayBuffer(), name);
  }
  throw new TypeError(
    `loadModel: cannot load a model from ${describeValue(source)}; pass a .safetensors path, a file: or http(s): URL, ` +
      `its bytes (Buffer, Uint8Array, ArrayBuffer), a Blob, or an embedded model name (${EMBEDDED_MODELS.join(', ')})`,
  );
}

function readModelPath(path: string): Promise<SafetensorsFile> {
  if (existsSync(path)) return readSafetensorsFile(path, { maxBytes: MAX_WEIGHTS_BYTES });
  const embedded = EMBEDDED_MODELS.find((name) => name === path);
  if (embedded) return readSafetensorsFile(embeddedModelPath(embedded), { maxBytes: MAX_WEIGHTS_BYTES });
  throw new SafetensorsError(
    path,
    'no such file. Pass the path of a .safetensors file (tools/export_weights.py converts PyTorch weights), ' +
      `or an embedded model: ${EMBEDDED_MODELS.join(', ')}`,
  );
}

function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

async function download(url: string): Promise<Uint8Array> {
  return new Uint8Array(await (await downloadPicture(url)).arrayBuffer());
}

function blobName(blob: Blob, fallback: string): string {
  return (blob as Blob & { name?: string }).name || fallback;
}
