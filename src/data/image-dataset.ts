import type { ModelInfo } from '../graph/model-info.js';

/**
 * A labelled set of equally sized RGB images held as uint8 NHWC, the layout of the shared CIFAR file
 * (`images` U8 [N, H, W, 3], `labels` U8 [N]) and of the datasets the project generates.
 */
export interface ImageDataset {
  images: Uint8Array;
  labels: Uint8Array | Int32Array;
  count: number;
  height: number;
  width: number;
  classes: string[];
  source: string;
}

/** What `datasetFromFile` reads: a parsed safetensors file (or anything with the same accessors). */
export interface DatasetFile {
  source: string;
  metadata: Readonly<Record<string, string>>;
  has(name: string): boolean;
  info(name: string): { dtype: string; shape: number[] };
  get(name: string): { data: ArrayBufferView };
}

/**
 * A labelled image set from a safetensors file holding `images` U8 [N, H, W, 3] and `labels` (and class names in its metadata),
 * checked before use.
 */
export function datasetFromFile(file: DatasetFile): ImageDataset {
  for (const key of ['images', 'labels']) {
    if (!file.has(key))
      throw new Error(`${file.source}: an image dataset needs tensors "images" (U8 [N,H,W,3]) and "labels"; "${key}" is missing`);
  }
  const img = file.info('images');
  if (img.dtype !== 'U8' || img.shape.length !== 4 || img.shape[3] !== 3) {
    throw new Error(`${file.source}: "images" must be U8 [N, H, W, 3], got ${img.dtype} [${img.shape.join(', ')}]`);
  }
  const lab = file.info('labels');
  if (lab.shape.length !== 1 || lab.shape[0] !== img.shape[0]) {
    throw new Error(`${file.source}: "labels" must be [${img.shape[0]}], got [${lab.shape.join(', ')}]`);
  }
  if (lab.dtype !== 'U8' && lab.dtype !== 'I32')
    throw new Error(`${file.source}: "labels" must be U8 or I32 class indices, got ${lab.dtype}`);
  const labels = file.get('labels').data as Uint8Array | Int32Array;
  const classes = datasetClasses(file);
  // A label outside the classes would silently land in no class (or in a wrong one): refuse it here.
  const top = classes.length || Infinity;
  const bad = labels.findIndex((l) => l < 0 || l >= top);
  if (bad >= 0)
    throw new Error(
      `${file.source}: label ${labels[bad]} of image ${bad} is not a class index${classes.length ? ` (0..${classes.length - 1})` : ''}`,
    );
  return {
    images: file.get('images').data as Uint8Array,
    labels,
    count: img.shape[0],
    height: img.shape[1],
    width: img.shape[2],
    classes,
    source: describeDatasetFile(file),
  };
}

function datasetClasses(file: DatasetFile): string[] {
  const text = file.metadata.classes;
  if (text === undefined) return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${file.source}: metadata "classes" is not valid JSON`);
  }
  if (!Array.isArray(v) || !v.every((c) => typeof c === 'string' && c.length <= 256))
    throw new Error(`${file.source}: metadata "classes" must be a JSON list of class names`);
  return v as string[];
}

/**
 * The file name, plus what made it when the file says so (the synthetic generator records its version,
 * split and seed), so outputs derived from it (class-means metadata) stay reproducible after the
 * temporary file is gone.
 */
function describeDatasetFile(file: DatasetFile): string {
  const { generator, split, seed } = file.metadata;
  if (!generator) return file.source;
  const what = [generator, split && `${split} split`, seed && `seed ${seed}`].filter(Boolean).join(', ');
  return `${file.source} (${what})`;
}

/** Images [start, start+count) as a normalised float batch (N, 3, H, W): (x/255 - mean) / std. */
export function normalizedBatch(ds: ImageDataset, start: number, count: number, info: Pick<ModelInfo, 'mean' | 'std'>): Float32Array {
  const { height: h, width: w } = ds;
  const plane = h * w;
  const out = new Float32Array(count * 3 * plane);
  for (let n = 0; n < count; n++) {
    const src = (start + n) * plane * 3;
    for (let c = 0; c < 3; c++) {
      const scale = 1 / (255 * info.std[c]);
      const shift = info.mean[c] / info.std[c];
      const dst = (n * 3 + c) * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = ds.images[src + p * 3 + c] * scale - shift;
    }
  }
  return out;
}
