import type { Engine } from '../../src/gpu/engine.js';
import { modelFromFile, type Model } from '../../src/graph/model.js';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.js';

/**
 * A plain conv stack whose class-0 logit depends only on one image region, so every attribution
 * method must put its maximum there: features.0 is a 1x1 conv averaging RGB, features.1 a ReLU,
 * features.2 a 2x2 max-pool, and `classifier` reads the pooled cells of the region only (class 1 is a
 * constant bias). Inputs are kept positive so the ReLU passes them.
 */
export interface Region {
  top: number;
  left: number;
  height: number;
  width: number;
}

export const REGION_SIZE = 16;
export const REGION: Region = { top: 2, left: 8, height: 6, width: 4 };

export function regionModel(e: Engine, size = REGION_SIZE, region: Region = REGION, gain = 4): Model {
  const pooled = size / 2;
  const cls = new Float32Array(2 * pooled * pooled);
  for (let y = region.top / 2; y < (region.top + region.height) / 2; y++) {
    for (let x = region.left / 2; x < (region.left + region.width) / 2; x++)
      cls[y * pooled + x] = gain / ((region.height * region.width) / 4);
  }
  const bytes = writeSafetensors(
    {
      'features.0.weight': { dtype: 'F32', shape: [1, 3, 1, 1], data: new Float32Array([1 / 3, 1 / 3, 1 / 3]) },
      'features.0.bias': { dtype: 'F32', shape: [1], data: new Float32Array([0]) },
      'classifier.weight': { dtype: 'F32', shape: [2, pooled * pooled], data: cls },
      'classifier.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0, gain / 2]) },
    },
    {
      architecture: 'plain_cnn',
      input_size: JSON.stringify([size, size]),
      normalize: JSON.stringify({ mean: [0, 0, 0], std: [1, 1, 1] }),
      classes: JSON.stringify(['region', 'other']),
    },
  );
  return modelFromFile(e, parseSafetensors(bytes, 'region-model'));
}

/** CPU forward of the region model: logits (N, 2). */
export function regionModelLogitsCpu(x: Float32Array, n: number, size = REGION_SIZE, region: Region = REGION, gain = 4): Float32Array {
  const plane = size * size;
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let py = region.top / 2; py < (region.top + region.height) / 2; py++) {
      for (let px = region.left / 2; px < (region.left + region.width) / 2; px++) {
        let m = -Infinity;
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            const p = (py * 2 + dy) * size + px * 2 + dx;
            const v = (x[i * 3 * plane + p] + x[(i * 3 + 1) * plane + p] + x[(i * 3 + 2) * plane + p]) / 3;
            m = Math.max(m, Math.max(v, 0));
          }
        }
        s += m;
      }
    }
    out[i * 2] = (s * gain) / ((region.height * region.width) / 4);
    out[i * 2 + 1] = gain / 2;
  }
  return out;
}

export function insideRegion(index: number, size = REGION_SIZE, region: Region = REGION): boolean {
  const y = Math.floor(index / size);
  const x = index % size;
  return y >= region.top && y < region.top + region.height && x >= region.left && x < region.left + region.width;
}

export function argmaxIndex(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/**
 * The same conv stack with one region per class: class k's logit reads region k only, and a last,
 * extra class is the constant gain / 2 (so an image with no bright region belongs to it).
 */
export function multiRegionModel(e: Engine, regions: Region[], size = REGION_SIZE, gain = 4): Model {
  return modelFromFile(e, parseSafetensors(multiRegionModelBytes(regions, size, gain), 'multi-region-model'));
}

/** The safetensors bytes of `multiRegionModel`, for tests that need a weights file. */
export function multiRegionModelBytes(regions: Region[], size = REGION_SIZE, gain = 4): Uint8Array {
  const pooled = size / 2;
  const classes = regions.length + 1;
  const cls = new Float32Array(classes * pooled * pooled);
  regions.forEach((region, k) => {
    for (let y = region.top / 2; y < (region.top + region.height) / 2; y++) {
      for (let x = region.left / 2; x < (region.left + region.width) / 2; x++)
        cls[k * pooled * pooled + y * pooled + x] = gain / ((region.height * region.width) / 4);
    }
  });
  const bias = new Float32Array(classes);
  bias[classes - 1] = gain / 2;
  return writeSafetensors(
    {
      'features.0.weight': { dtype: 'F32', shape: [1, 3, 1, 1], data: new Float32Array([1 / 3, 1 / 3, 1 / 3]) },
      'features.0.bias': { dtype: 'F32', shape: [1], data: new Float32Array([0]) },
      'classifier.weight': { dtype: 'F32', shape: [classes, pooled * pooled], data: cls },
      'classifier.bias': { dtype: 'F32', shape: [classes], data: bias },
    },
    {
      architecture: 'plain_cnn',
      input_size: JSON.stringify([size, size]),
      normalize: JSON.stringify({ mean: [0, 0, 0], std: [1, 1, 1] }),
      classes: JSON.stringify([...regions.map((_, k) => `region ${k}`), 'none']),
    },
  );
}
