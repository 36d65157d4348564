import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/image/image.js';
import {
  centerCrop,
  imagesToBatch,
  normalizedCHWToImage,
  preprocessForModel,
  resizeShorterSide,
  toNormalizedCHW,
} from '../../src/image/preprocess.js';
import { resizeBilinear, resizeImage } from '../../src/image/resize.js';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Pixel (x, y) = [x, y, 7]: positions can be read back from any crop or stack. */
function coordImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], 3 * (y * width + x));
  return { width, height, data };
}

const pixel = (img: RgbImage, x: number, y: number): number[] => [
  ...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3),
];

describe('bilinear resize (PyTorch align_corners=False)', () => {
  it('upsamples 2x2 -> 4x4 as F.interpolate does', () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode='bilinear')
    const out = resizeBilinear(Float32Array.of(0, 1, 2, 3), 2, 2, 4, 4);
    expect([...out]).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  it('downsamples 4 -> 2 by averaging pixel pairs', () => {
    expect([...resizeBilinear(Float32Array.of(0, 1, 2, 3), 4, 1, 2, 1)]).toEqual([0.5, 2.5]);
  });

  it('resizes interleaved channels independently and rounds RGB images', () => {
    const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(0, 10, 255, 1, 20, 0) };
    const out = resizeImage(img, 4, 1);
    // x weights: 0, 0.25, 0.75, 1 -> channel 0: 0, 0.25, 0.75, 1 -> rounded 0, 0, 1, 1
    expect([...out.data]).toEqual([0, 10, 255, 0, 13, 191, 1, 18, 64, 1, 20, 0]);
  });

  it('is the identity at the same size and returns a copy', () => {
    const img = coordImage(5, 3);
    const out = resizeImage(img, 5, 3);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });

  it('rejects a value count that does not match the size', () => {
    expect(() => resizeBilinear(new Float32Array(5), 2, 2, 4, 4)).toThrow(/expected 2x2x1 = 4 values, got 5/);
  });
});

describe('torchvision geometry', () => {
  it('resizes the shorter side and truncates the longer one', () => {
    const landscape = resizeShorterSide(coordImage(10, 6), 4); // int(4 * 10 / 6) = 6
    expect([landscape.width, landscape.height]).toEqual([6, 4]);
    const portrait = resizeShorterSide(coordImage(6, 10), 4);
    expect([portrait.width, portrait.height]).toEqual([4, 6]);
  });

  it('centre-crops with Python round-half-even offsets', () => {
    // (7 - 2) / 2 = 2.5 rounds to 2 in Python (Math.round would give 3).
    const crop = centerCrop(coordImage(7, 7), [2, 2]);
    expect(pixel(crop, 0, 0)).toEqual([2, 2, 7]);
    // (6 - 3) / 2 = 1.5 rounds to 2; height (4 - 4) / 2 = 0.
    const crop2 = centerCrop(coordImage(6, 4), [4, 3]);
    expect([crop2.width, crop2.height]).toEqual([3, 4]);
    expect(pixel(crop2, 0, 0)).toEqual([2, 0, 7]);
    expect(pixel(crop2, 2, 3)).toEqual([4, 3, 7]);
  });

  it('pads with black when the crop is larger than the image', () => {
    // torchvision pads (5 - 2) // 2 = 1 on the left/top, 2 on the right/bottom.
    const crop = centerCrop(coordImage(2, 2), [5, 5]);
    expect(pixel(crop, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(crop, 1, 1)).toEqual([0, 0, 7]);
    expect(pixel(crop, 2, 2)).toEqual([1, 1, 7]);
    expect(pixel(crop, 3, 3)).toEqual([0, 0, 0]);
  });
});

describe('normalisation', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.of(255, 0, 128, 0, 51, 255) };

  it('produces CHW float32 values equal to torchvision ToTensor + Normalize', () => {
    const chw = toNormalizedCHW(img, IMAGENET_MEAN, IMAGENET_STD);
    const f = Math.fround;
    const expected = (x: number, c: number) => f(f(f(x / 255) - f(IMAGENET_MEAN[c])) / f(IMAGENET_STD[c]));
    // layout: R plane, then G, then B
    expect([...chw]).toEqual([expected(255, 0), expected(0, 0), expected(0, 1), expected(51, 1), expected(128, 2), expected(255, 2)]);
    expect(chw[0]).toBeCloseTo((1 - 0.485) / 0.229, 6);
    expect(chw[3]).toBeCloseTo((0.2 - 0.456) / 0.224, 6);
  });

  it('inverts back to the same bytes', () => {
    const chw = toNormalizedCHW(img, IMAGENET_MEAN, IMAGENET_STD);
    expect(normalizedCHWToImage(chw, 2, 1, IMAGENET_MEAN, IMAGENET_STD).data).toEqual(img.data);
  });

  it('honours a custom scale and clamps on the way back', () => {
    const chw = toNormalizedCHW(img, [0, 0, 0], [1, 1, 1], 1);
    expect(chw[0]).toBe(255);
    const back = normalizedCHWToImage(Float32Array.of(-5, 300, 0, 0, 0, 0), 2, 1, [0, 0, 0], [1, 1, 1], 1);
    expect([...back.data.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect(back.data[3]).toBe(255);
  });

  it('rejects bad statistics', () => {
    expect(() => toNormalizedCHW(img, [0.5], IMAGENET_STD)).toThrow(/3 means and 3 stds/);
    expect(() => toNormalizedCHW(img, IMAGENET_MEAN, [1, 0, 1])).toThrow(/non-zero/);
  });

  it('batches equally sized images as (N, 3, H, W) and refuses mixed sizes', () => {
    const batch = imagesToBatch([img, img, img], IMAGENET_MEAN, IMAGENET_STD);
    expect(batch.shape).toEqual([3, 3, 1, 2]);
    expect(batch.data.subarray(12, 18)).toEqual(toNormalizedCHW(img, IMAGENET_MEAN, IMAGENET_STD));
    expect(() => imagesToBatch([img, coordImage(3, 3)], IMAGENET_MEAN, IMAGENET_STD)).toThrow(/image 0 is 2x1 but image 1 is 3x3/);
  });
});

describe('preprocessForModel', () => {
  it('does Resize(shorter side) + CenterCrop when resize is given', () => {
    const { image, chw } = preprocessForModel(coordImage(10, 6), { inputSize: [4, 4], mean: IMAGENET_MEAN, std: IMAGENET_STD, resize: 4 });
    expect([image.width, image.height]).toEqual([4, 4]);
    // 10x6 -> 6x4, then the crop starts at column round((6 - 4) / 2) = 1.
    expect(image.data).toEqual(centerCrop(resizeShorterSide(coordImage(10, 6), 4), [4, 4]).data);
    expect(chw).toEqual(toNormalizedCHW(image, IMAGENET_MEAN, IMAGENET_STD));
  });

  it('resizes straight to inputSize (height, width) otherwise', () => {
    const { image, chw } = preprocessForModel(coordImage(10, 6), { inputSize: [3, 5], mean: IMAGENET_MEAN, std: IMAGENET_STD });
    expect([image.width, image.height]).toEqual([5, 3]);
    expect(chw.length).toBe(3 * 3 * 5);
  });
});
