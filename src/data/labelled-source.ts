import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { LabelledBatches } from './labelled-batches.js';
import type { ModelInfo } from '../graph/model-info.js';
import { readFileSync } from 'node:fs';
import { decodeImageBytes, readImageFile } from '../image/decode-node.js';
import { preprocessForModel } from '../image/preprocess.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { MAX_DATASET_BYTES } from '../io/limits.js';
import { datasetFromFile, normalizedBatch, type ImageDataset } from './image-dataset.js';

/** A labelled image set a command can read: a safetensors file (images U8 [N,H,W,3] + labels) or a folder per class. */
export interface LabelledSet {
  description: string;
  count: number;
  classes: string[];
  /** Batches normalised for a model, optionally over a sub-range [start, start+count). */
  batches(info: ModelInfo, range?: { start: number; count: number }): LabelledBatches;
  /** Raw RGB of image i (H*W*3) and its size, for pictures. */
  rgb(i: number): Promise<{ data: Uint8Array; width: number; height: number }>;
  label(i: number): number;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export async function openLabelledSet(path: string): Promise<LabelledSet> {
  const s = await stat(path).catch(() => null);
  if (!s)
    throw new Error(
      `dataset "${path}" does not exist; give a .safetensors file (images U8 [N,H,W,3], labels) or a folder with one sub-folder of images per class`,
    );
  return s.isDirectory() ? folderSet(path) : tensorSet(datasetFromFile(await readSafetensorsFile(path, { maxBytes: MAX_DATASET_BYTES })));
}

export function tensorSet(ds: ImageDataset): LabelledSet {
  return {
    description: ds.source,
    count: ds.count,
    classes: ds.classes,
    label: (i) => ds.labels[i],
    async rgb(i) {
      const n = ds.height * ds.width * 3;
      return { data: ds.images.subarray(i * n, (i + 1) * n), width: ds.width, height: ds.height };
    },
    batches(info, range = { start: 0, count: ds.count }) {
      const [h, w] = info.inputSize;
      if (h !== ds.height || w !== ds.width) {
        throw new Error(`${ds.source} holds ${ds.height}x${ds.width} images but the model takes ${h}x${w}`);
      }
      return {
        count: range.count,
        shape: [3, h, w],
        batch: (start, count) => ({
          data: normalizedBatch(ds, range.start + start, count, info),
          labels: ds.labels.subarray(range.start + start, range.start + start + count),
        }),
      };
    },
  };
}

/** A folder with one sub-folder per class (sorted names = class indices), images decoded on demand. */
async function folderSet(root: string): Promise<LabelledSet> {
  const classes = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  if (!classes.length) throw new Error(`${root}: no class sub-folders; expected ${root}/<class>/<image>.png`);
  const files: { path: string; label: number }[] = [];
  for (const [label, cls] of classes.entries()) {
    for (const f of (await readdir(join(root, cls))).sort()) {
      if (IMAGE_EXTENSIONS.has(extname(f).toLowerCase())) files.push({ path: join(root, cls, f), label });
    }
  }
  if (!files.length) throw new Error(`${root}: no PNG or JPEG images in the class folders`);
  // Each image is decoded when its batch is made and dropped after, so a folder of large photos never
  // holds them all at full size (batches are synchronous, hence the synchronous read and decode).
  const decode = (i: number) => decodeImageBytes(readFileSync(files[i].path), files[i].path);
  return {
    description: root,
    count: files.length,
    classes,
    label: (i) => files[i].label,
    async rgb(i) {
      return readImageFile(files[i].path);
    },
    batches(info, range = { start: 0, count: files.length }) {
      const [h, w] = info.inputSize;
      const plane = 3 * h * w;
      return {
        count: range.count,
        shape: [3, h, w],
        batch: (start, count) => {
          const data = new Float32Array(count * plane);
          const labels = new Int32Array(count);
          for (let k = 0; k < count; k++) {
            const i = range.start + start + k;
            data.set(
              preprocessForModel(decode(i), { inputSize: [h, w], mean: info.mean, std: info.std, resize: info.resize }).chw,
              k * plane,
            );
            labels[k] = files[i].label;
          }
          return { data, labels };
        },
      };
    },
  };
}
