/**
 * Turning attribution maps into pictures: heatmaps blended over the input image, signed input
 * gradients (guided backprop, deconvnet) as RGB, and plain greyscale maps.
 */
import { applyColormap, type ColormapName, type ColormapOptions } from './colormap.js';
import { assertRgbImage, createRgbImage, type RgbImage } from './image.js';
import { percentileInPlace } from './percentile.js';
import type { Region } from './preprocess.js';
import { resizeBilinear } from './resize.js';

/** Options of {@link overlayHeatmap}. */
export interface OverlayOptions {
  /** Default 'jet', the usual choice in CAM papers. */
  colormap?: ColormapName;
  /** Weight of the heatmap: 0 gives the base image, 1 the bare colormap. Default 0.5. */
  alpha?: number;
}

/**
 * Blends a colour-mapped (mapH, mapW) map over `base`. Map values are read on a fixed [0, 1]
 * scale ([-1, 1] for a diverging colormap), not rescaled, so overlays of different images are
 * comparable; methods already min-max normalise. The map is bilinearly resized to the image
 * when the sizes differ (align_corners false, as the engine's upsampling).
 */
export function overlayHeatmap(base: RgbImage, map: Float32Array, mapW: number, mapH: number, options: OverlayOptions = {}): RgbImage {
  checkOverlay(base, map, mapW, mapH, options);
  const sized = mapW === base.width && mapH === base.height ? map : resizeBilinear(map, mapW, mapH, base.width, base.height);
  return blendHeat(base, sized, options);
}

/**
 * The same over the original picture, whatever its size: the map is stretched over `region`, the part
 * of the picture the model saw (preprocessForModel's region; the whole picture unless it was
 * centre-cropped). Outside the region the picture is washed out, since the map says nothing there.
 */
export function overlayHeatmapOnOriginal(
  original: RgbImage,
  map: Float32Array,
  mapW: number,
  mapH: number,
  region: Region,
  options: OverlayOptions = {},
): RgbImage {
  checkOverlay(original, map, mapW, mapH, options);
  return blendHeat(original, sampleIntoRegion(map, mapW, mapH, original.width, original.height, region), options);
}

/** A model-sized picture (a rendered gradient) drawn at the original's size over `region`; outside it, the original washed out. */
export function pictureOnOriginal(original: RgbImage, picture: RgbImage, region: Region): RgbImage {
  assertRgbImage(original, 'original image');
  assertRgbImage(picture, 'picture');
  const sized = sampleIntoRegion(picture.data, picture.width, picture.height, original.width, original.height, region, 3);
  const out = createRgbImage(original.width, original.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Number.isNaN(sized[i]) ? washedOut(original.data[i]) : Math.round(sized[i]);
  return out;
}

function checkOverlay(base: RgbImage, map: Float32Array, mapW: number, mapH: number, { alpha = 0.5 }: OverlayOptions): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  assertRgbImage(base, 'overlay base image');
  if (map.length !== mapW * mapH)
    throw new RangeError(`overlayHeatmap: expected a ${mapW}x${mapH} map (${mapW * mapH} values), got ${map.length}`);
}

/** Where the map has no value (NaN): the picture two-thirds of the way to white. */
const washedOut = (v: number) => Math.round(v / 3 + 170);

/** base * (1 - alpha) + colormap(map) * alpha, pixel by pixel; `map` is base-sized. */
function blendHeat(base: RgbImage, map: Float32Array, { colormap = 'jet', alpha = 0.5 }: OverlayOptions): RgbImage {
  const heat = applyColormap(map, base.width, base.height, colormap, { range: [0, 1] });
  const out = createRgbImage(base.width, base.height);
  for (let p = 0; p < map.length; p++) {
    for (let c = 3 * p; c < 3 * p + 3; c++) {
      out.data[c] = Number.isNaN(map[p]) ? washedOut(base.data[c]) : Math.round(base.data[c] * (1 - alpha) + heat.data[c] * alpha);
    }
  }
  return out;
}

/**
 * Samples `channels` interleaved planes of a (srcH, srcW) picture into an (outH, outW) frame in which
 * it covers `region`: bilinear with pixel centres on pixel centres (align_corners false) and edges
 * clamped, as resizeBilinear; pixels whose centre lies outside the region are NaN.
 */
export function sampleIntoRegion(
  src: ArrayLike<number>,
  srcW: number,
  srcH: number,
  outW: number,
  outH: number,
  region: Region,
  channels = 1,
): Float32Array {
  if (src.length !== srcW * srcH * channels)
    throw new RangeError(`sampleIntoRegion: expected ${srcW}x${srcH}x${channels} values, got ${src.length}`);
  if (!(region.width > 0 && region.height > 0)) throw new RangeError(`sampleIntoRegion: empty region ${region.width}x${region.height}`);
  const axis = (size: number, start: number, extent: number, srcSize: number) => {
    const lo = new Int32Array(size);
    const hi = new Int32Array(size);
    const w = new Float32Array(size);
    const inside = new Uint8Array(size);
    for (let o = 0; o < size; o++) {
      const rel = o + 0.5 - start;
      inside[o] = rel >= 0 && rel < extent ? 1 : 0;
      const pos = Math.min(Math.max((rel * srcSize) / extent - 0.5, 0), srcSize - 1);
      lo[o] = Math.floor(pos);
      hi[o] = Math.min(lo[o] + 1, srcSize - 1);
      w[o] = pos - lo[o];
    }
    return { lo, hi, w, inside };
  };
  const xs = axis(outW, region.x, region.width, srcW);
  const ys = axis(outH, region.y, region.height, srcH);
  const out = new Float32Array(outW * outH * channels).fill(NaN);
  for (let y = 0; y < outH; y++) {
    if (!ys.inside[y]) continue;
    const r0 = ys.lo[y] * srcW;
    const r1 = ys.hi[y] * srcW;
    const wy = ys.w[y];
    for (let x = 0; x < outW; x++) {
      if (!xs.inside[x]) continue;
      const [c0, c1, wx] = [xs.lo[x], xs.hi[x], xs.w[x]];
      for (let c = 0; c < channels; c++) {
        const top = src[(r0 + c0) * channels + c] * (1 - wx) + src[(r0 + c1) * channels + c] * wx;
        const bottom = src[(r1 + c0) * channels + c] * (1 - wx) + src[(r1 + c1) * channels + c] * wx;
        out[(y * outW + x) * channels + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/** Options of {@link gradientToImage}. */
export interface GradientImageOptions {
  /**
   * Percentile of |g| that maps to full saturation. Default 99.5: a plain max lets a handful of
   * extreme pixels wash the rest of the picture out to grey.
   */
  percentile?: number;
}

/**
 * Renders a signed (C, H, W) input gradient, C = 3 (RGB) or 1 (grey), as an image: 0 is mid-grey,
 * +-robust max are the channel's extremes, as in the guided backprop and deconvnet papers.
 * Non-finite values count as 0.
 */
export function gradientToImage(grad: Float32Array, C: number, H: number, W: number, options: GradientImageOptions = {}): RgbImage {
  const { percentile = 99.5 } = options;
  if (C !== 1 && C !== 3) throw new RangeError(`gradientToImage: expected 1 or 3 channels, got ${C}`);
  if (grad.length !== C * H * W) throw new RangeError(`gradientToImage: expected ${C}x${H}x${W} = ${C * H * W} values, got ${grad.length}`);
  if (!(percentile > 0 && percentile <= 100)) throw new RangeError(`gradientToImage: percentile must be in (0, 100], got ${percentile}`);

  const clean = new Float32Array(grad.length);
  const magnitudes = new Float32Array(grad.length);
  let maxMagnitude = 0;
  for (let i = 0; i < grad.length; i++) {
    const g = Number.isFinite(grad[i]) ? grad[i] : 0;
    clean[i] = g;
    magnitudes[i] = Math.abs(g);
    if (magnitudes[i] > maxMagnitude) maxMagnitude = magnitudes[i];
  }
  let scale = percentileInPlace(magnitudes, percentile);
  // A sparse gradient (e.g. from one neuron) can have a zero percentile; fall back to the max.
  if (!(scale > 0)) scale = maxMagnitude;

  const out = createRgbImage(W, H);
  const plane = H * W;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const g = clean[(C === 3 ? c : 0) * plane + i];
      const v = scale > 0 ? 0.5 + (0.5 * g) / scale : 0.5;
      out.data[3 * i + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return out;
}

/** An (h, w) map in greyscale: black at the low end of the range, white at the high end. */
export function greyMapToImage(map: Float32Array, width: number, height: number, options: ColormapOptions = {}): RgbImage {
  return applyColormap(map, width, height, 'gray', options);
}
