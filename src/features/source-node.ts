/**
 * Node entry points for image sources: a safetensors dataset file or a folder of PNG/JPEG images.
 * Folder images are decoded lazily per batch (a scan over thousands of photos never holds them all) and
 * preprocessed the way the model expects (resize, centre crop), so crops come from what the model saw.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { datasetFromFile } from '../data/image-dataset.js';
import type { ModelInfo } from '../graph/model-info.js';
import { readImageFile } from '../image/decode-node.js';
import { preprocessForModel, toNormalizedCHW } from '../image/preprocess.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { FeatureInputError } from './errors.js';
import { datasetSource, type ImageSource } from './image-source.js';
import { MAX_DATASET_BYTES } from '../io/limits.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export async function folderSource(
  dir: string,
  info: Pick<ModelInfo, 'inputSize' | 'mean' | 'std' | 'resize'>,
  limit?: number,
): Promise<ImageSource> {
  const files = (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
  if (!files.length) throw new FeatureInputError(`${dir}: no PNG or JPEG images in this folder`);
  const chosen = files.slice(0, limit ?? files.length);
  const [height, width] = info.inputSize;
  const spec = { inputSize: info.inputSize, mean: info.mean, std: info.std, resize: info.resize };
  const picture = async (i: number) => (await preprocessForModel(await readImageFile(join(dir, chosen[i])), spec)).image;
  return {
    count: chosen.length,
    height,
    width,
    classes: [],
    description: dir,
    label: () => -1,
    name: (i) => chosen[i],
    async batch(start, n, norm) {
      const per = 3 * width * height;
      const out = new Float32Array(n * per);
      for (let k = 0; k < n; k++) out.set(toNormalizedCHW(await picture(start + k), norm.mean, norm.std), k * per);
      return out;
    },
    picture,
  };
}

/** A dataset file (`images` U8 [N,H,W,3] + `labels`, .safetensors) or a folder of images. */
export async function openImageSource(
  path: string,
  info: Pick<ModelInfo, 'inputSize' | 'mean' | 'std' | 'resize'>,
  limit?: number,
): Promise<ImageSource> {
  const s = await stat(path).catch(() => null);
  if (!s)
    throw new FeatureInputError(
      `data "${path}" does not exist; give a dataset .safetensors file (images U8 [N,H,W,3] + labels) or a folder of PNG/JPEG images`,
    );
  if (s.isDirectory()) return folderSource(path, info, limit);
  return datasetSource(datasetFromFile(await readSafetensorsFile(path, { maxBytes: MAX_DATASET_BYTES })), limit);
}
