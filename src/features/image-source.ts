/**
 * Where the feature tools get images: a labelled dataset held in memory (the uint8 NHWC layout of
 * `test1000.safetensors`), a list of decoded pictures, or (Node) a folder of PNG/JPEG files
 * (source-node.ts). Batches are produced on demand so a scan never holds more than one batch of
 * floats; `picture(i)` returns image i as the model sees it, for crops and strips.
 */
import { normalizedBatch, type ImageDataset } from '../data/image-dataset.js';
import type { ModelInfo } from '../graph/model-info.js';
import { createRgbImage, type RgbImage } from '../image/image.js';
import { toNormalizedCHW } from '../image/preprocess.js';
import { FeatureInputError } from './errors.js';

/** The per-channel normalisation a batch is produced with (a model's mean and std). */
export type Normalisation = Pick<ModelInfo, 'mean' | 'std'>;

/** Images for the feature tools, produced in normalised batches on demand, with their labels and the pictures the model sees. */
export interface ImageSource {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** Class names for labels; empty when unknown. */
  readonly classes: readonly string[];
  /** For messages and reports: a file or folder path. */
  readonly description: string;
  /** The label of image i, or -1 when the source has none. */
  label(i: number): number;
  /** A short name for image i: `#12` or a file name. */
  name(i: number): string;
  /** Images [start, start + count) as a normalised (count, 3, H, W) batch. */
  batch(start: number, count: number, norm: Normalisation): Promise<Float32Array>;
  /** Image i as the model sees it (H x W RGB). */
  picture(i: number): Promise<RgbImage>;
}

/** A labelled dataset; `limit` keeps the first images only. */
export function datasetSource(ds: ImageDataset, limit?: number): ImageSource {
  const count = Math.min(ds.count, limit ?? ds.count);
  if (count < 1) throw new FeatureInputError(`${ds.source}: no images${limit !== undefined ? ` (limit ${limit})` : ''}`);
  const { height, width } = ds;
  return {
    count,
    height,
    width,
    classes: ds.classes,
    description: ds.source,
    label: (i) => ds.labels[i],
    name: (i) => `#${i}`,
    batch: async (start, n, norm) => normalizedBatch(ds, start, n, norm),
    async picture(i) {
      const img = createRgbImage(width, height);
      img.data.set(ds.images.subarray(i * height * width * 3, (i + 1) * height * width * 3));
      return img;
    },
  };
}

/** Decoded pictures of one size (already resized for the model), optionally labelled. */
export function picturesSource(
  pictures: readonly RgbImage[],
  opts: { labels?: ArrayLike<number>; names?: readonly string[]; classes?: readonly string[]; description?: string } = {},
): ImageSource {
  if (!pictures.length) throw new FeatureInputError('no images given');
  const { width, height } = pictures[0];
  const odd = pictures.findIndex((p) => p.width !== width || p.height !== height);
  if (odd >= 0)
    throw new FeatureInputError(
      `image ${odd} is ${pictures[odd].width}x${pictures[odd].height}, image 0 is ${width}x${height}; resize them to the model's input size first`,
    );
  return {
    count: pictures.length,
    height,
    width,
    classes: opts.classes ?? [],
    description: opts.description ?? `${pictures.length} images`,
    label: (i) => (opts.labels ? opts.labels[i] : -1),
    name: (i) => opts.names?.[i] ?? `#${i}`,
    async batch(start, n, norm) {
      const per = 3 * width * height;
      const out = new Float32Array(n * per);
      for (let k = 0; k < n; k++) out.set(toNormalizedCHW(pictures[start + k], norm.mean, norm.std), k * per);
      return out;
    },
    picture: async (i) => pictures[i],
  };
}

/** Fails early, with both sizes, when the images do not fit a model with a fixed input size. */
export function assertSourceFitsModel(source: ImageSource, info: Pick<ModelInfo, 'inputSize' | 'architecture'>, fixedSize: boolean): void {
  const [h, w] = info.inputSize;
  if (fixedSize && (source.height !== h || source.width !== w)) {
    throw new FeatureInputError(
      `${source.description}: images are ${source.height}x${source.width} but ${info.architecture} takes ${h}x${w}`,
    );
  }
}
