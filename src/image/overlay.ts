/**
 * Turning attribution maps into pictures: heatmaps blended over the input image, signed input
 * gradients (guided backprop, deconvnet) as RGB, and plain greyscale maps.
 */
import { applyColormap, type ColormapName, type ColormapOptions } from './colormap.js';
import { assertRgbImage, createRgbImage, type RgbImage } from './image.js';
import { percentileInPlace } from './percentile.js';
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
  const { colormap = 'jet', alpha = 0.5 } = options;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  assertRgbImage(base, 'overlay base image');
  if (map.length !== mapW * mapH)
    throw new RangeError(`overlayHeatmap: expected a ${mapW}x${mapH} map (${mapW * mapH} values), got ${map.length}`);
  const sized = mapW === base.width && mapH === base.height ? map : resizeBilinear(map, mapW, mapH, base.width, base.height);
  const heat = applyColormap(sized, base.width, base.height, colormap, { range: [0, 1] });
  const out = createRgbImage(base.width, base.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.round(base.data[i] * (1 - alpha) + heat.data[i] * alpha);
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
