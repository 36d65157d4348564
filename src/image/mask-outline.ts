/**
 * Drawing a ground-truth object mask's boundary over a picture, so a reader can judge an attribution
 * map against the truth at a glance (the localisation benchmark's sheets).
 */
import { assertRgbImage, type Rgb, type RgbImage } from './image.js';

/**
 * Returns a copy of `img` with every mask pixel that has a 4-neighbour outside the mask (or lies on
 * the image border) painted `color`. `mask` is (height, width), non-zero inside; `img` may be an
 * integer multiple of the mask's size (upscaled pictures), in which case the outline follows the
 * upscaled pixels.
 */
export function outlineMask(
  img: RgbImage,
  mask: ArrayLike<number>,
  maskWidth: number,
  maskHeight: number,
  color: Rgb = [255, 255, 255],
): RgbImage {
  assertRgbImage(img, 'outline base image');
  if (mask.length !== maskWidth * maskHeight)
    throw new RangeError(`outlineMask: expected a ${maskWidth}x${maskHeight} mask, got ${mask.length} values`);
  const sx = img.width / maskWidth;
  const sy = img.height / maskHeight;
  if (!Number.isInteger(sx) || !Number.isInteger(sy) || sx < 1 || sy < 1) {
    throw new RangeError(
      `outlineMask: the ${img.width}x${img.height} image is not an integer multiple of the ${maskWidth}x${maskHeight} mask`,
    );
  }
  const inside = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < img.width && y < img.height && mask[Math.floor(y / sy) * maskWidth + Math.floor(x / sx)] !== 0;
  const out = { width: img.width, height: img.height, data: img.data.slice() };
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (!inside(x, y)) continue;
      if (inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1)) continue;
      out.data.set(color, (y * img.width + x) * 3);
    }
  }
  return out;
}
