/**
 * Turning a decoded picture into model input the way torchvision's usual eval transform does:
 * Resize(shorter side) -> CenterCrop -> ToTensor -> Normalize. The geometry functions follow
 * torchvision's rounding rules exactly; the resize is PIL's antialiased bilinear one, which is what torchvision's Resize does to PIL
 * images (see resize.ts).
 */
import { blit, createRgbImage, type RgbImage } from './image.js';
import { resizeImageAntialiased } from './resize.js';

/** (height, width), in torchvision's order. */
export type Size2 = readonly [height: number, width: number];

/** Per-channel RGB statistics, e.g. ImageNet mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]. */
export type ChannelStats = readonly number[];

/** torchvision's ToTensor scale: bytes to [0, 1]. */
const BYTE_SCALE = 1 / 255;

/** torchvision Resize(size) with an int: the shorter side becomes `size`, the longer one int(size * long / short). */
export function resizeShorterSide(img: RgbImage, size: number): RgbImage {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`resize: shorter side must be a positive integer, got ${size}`);
  const portrait = img.width <= img.height;
  const short = portrait ? img.width : img.height;
  const long = portrait ? img.height : img.width;
  const newLong = Math.floor((size * long) / short);
  return portrait ? resizeImageAntialiased(img, size, newLong) : resizeImageAntialiased(img, newLong, size);
}

/** Python's round(): ties go to the even neighbour. torchvision uses it for crop offsets. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Offset of the crop window along one axis; negative when the crop is larger and the image is zero-padded. */
function cropOffset(imageSize: number, cropSize: number): number {
  return cropSize > imageSize ? -Math.floor((cropSize - imageSize) / 2) : roundHalfEven((imageSize - cropSize) / 2);
}

/** torchvision CenterCrop: same offsets, and the same black padding when the crop exceeds the image. */
export function centerCrop(img: RgbImage, [height, width]: Size2): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`centerCrop: size must be positive integers, got ${height}x${width}`);
  }
  const out = createRgbImage(width, height);
  blit(out, img, -cropOffset(img.width, width), -cropOffset(img.height, height));
  return out;
}

function checkStats(mean: ChannelStats, std: ChannelStats): void {
  if (mean.length !== 3 || std.length !== 3) {
    throw new RangeError(`normalisation needs 3 means and 3 stds (RGB), got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(Math.abs(s) > 0))) throw new RangeError(`normalisation std must be non-zero, got [${std.join(', ')}]`);
}

/**
 * Per-channel table of the normalised value of each byte. Every step is rounded to float32 as
 * torchvision does (x/255, then - mean, then / std, all in float32), so inputs match PyTorch's
 * to within one ulp.
 */
function normalizationTable(mean: ChannelStats, std: ChannelStats, scale: number): Float32Array {
  checkStats(mean, std);
  const f = Math.fround;
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < 256; x++) table[c * 256 + x] = f(f(f(x * scale) - f(mean[c])) / f(std[c]));
  }
  return table;
}

/** (H, W, 3) bytes -> (3, H, W) floats: (x * scale - mean) / std. */
export function toNormalizedCHW(img: RgbImage, mean: ChannelStats, std: ChannelStats, scale = BYTE_SCALE): Float32Array {
  const table = normalizationTable(mean, std, scale);
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = table[img.data[3 * i]];
    out[plane + i] = table[256 + img.data[3 * i + 1]];
    out[2 * plane + i] = table[512 + img.data[3 * i + 2]];
  }
  return out;
}

/** The inverse of toNormalizedCHW, for showing what the model saw. (3, H, W) -> RGB bytes. */
export function normalizedCHWToImage(
  chw: Float32Array,
  width: number,
  height: number,
  mean: ChannelStats,
  std: ChannelStats,
  scale = BYTE_SCALE,
): RgbImage {
  checkStats(mean, std);
  const plane = width * height;
  if (chw.length !== 3 * plane) throw new RangeError(`expected 3x${height}x${width} = ${3 * plane} values, got ${chw.length}`);
  const out = createRgbImage(width, height);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      // Explicit clamp: a Uint8Array wraps out-of-range values instead of saturating.
      out.data[3 * i + c] = Math.min(255, Math.max(0, Math.round((chw[c * plane + i] * std[c] + mean[c]) / scale)));
    }
  }
  return out;
}

/** Normalised images as one (N, 3, H, W) host array, ready for `engine.upload(batch.data, batch.shape)`. */
export interface Batch {
  /** (N, 3, H, W) */
  data: Float32Array;
  shape: [n: number, c: 3, h: number, w: number];
}

/** Normalises equally sized images into one (N, 3, H, W) batch. */
export function imagesToBatch(imgs: readonly RgbImage[], mean: ChannelStats, std: ChannelStats, scale = BYTE_SCALE): Batch {
  if (imgs.length === 0) throw new RangeError('imagesToBatch: no images given');
  const { width, height } = imgs[0];
  const odd = imgs.findIndex((im) => im.width !== width || im.height !== height);
  if (odd >= 0) {
    throw new RangeError(
      `imagesToBatch: all images must be the same size; image 0 is ${width}x${height} but image ${odd} is ` +
        `${imgs[odd].width}x${imgs[odd].height} (preprocess them with preprocessForModel first)`,
    );
  }
  const per = 3 * width * height;
  const data = new Float32Array(imgs.length * per);
  imgs.forEach((im, n) => data.set(toNormalizedCHW(im, mean, std, scale), n * per));
  return { data, shape: [imgs.length, 3, height, width] };
}

/** How a model expects its input: size, normalisation and torchvision-style resizing (a model's `info` has every field). */
export interface ModelInputSpec {
  /** The network's input (height, width). */
  inputSize: Size2;
  mean: ChannelStats;
  std: ChannelStats;
  /** Byte scale before normalising; 1/255 (torchvision's ToTensor) by default. */
  scale?: number;
  /** When given, torchvision's Resize(resize) + CenterCrop(inputSize) (e.g. 256 then 224);
   *  otherwise a direct resize to inputSize, which ignores the aspect ratio. */
  resize?: number;
}

/** A rectangle in pixels of the original picture (may reach past its edges where the crop pads). */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One picture prepared for a model: what the model sees, and its normalised (3, H, W) values. */
export interface ModelInput {
  /** The picture the model sees (resized and cropped), for overlays. */
  image: RgbImage;
  /** (3, H, W) normalised input. */
  chw: Float32Array;
  /** Where the model's input lies in the original picture, so maps can be drawn over the original. */
  region: Region;
}

/**
 * Prepares a picture as the model was trained: torchvision's Resize + CenterCrop when the spec has `resize`, else a direct resize to
 * the input size; then normalises.
 */
export function preprocessForModel(img: RgbImage, spec: ModelInputSpec): ModelInput {
  const [height, width] = spec.inputSize;
  if (spec.resize === undefined) {
    const image = resizeImageAntialiased(img, width, height);
    return {
      image,
      chw: toNormalizedCHW(image, spec.mean, spec.std, spec.scale),
      region: { x: 0, y: 0, width: img.width, height: img.height },
    };
  }
  const resized = resizeShorterSide(img, spec.resize);
  const image = centerCrop(resized, spec.inputSize);
  // The crop window in resized pixels, scaled back to the original's.
  const sx = img.width / resized.width;
  const sy = img.height / resized.height;
  const region = {
    x: cropOffset(resized.width, width) * sx,
    y: cropOffset(resized.height, height) * sy,
    width: width * sx,
    height: height * sy,
  };
  return { image, chw: toNormalizedCHW(image, spec.mean, spec.std, spec.scale), region };
}
