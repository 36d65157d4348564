import { createRgbImage, type Rgb, type RgbImage } from '../image/image.js';
import { hstack } from '../image/grid.js';

/** A copy of `img` inside a solid border (marks the layer where E2CM exits). */
export function withBorder(img: RgbImage, color: Rgb, width: number): RgbImage {
  const out = createRgbImage(img.width + 2 * width, img.height + 2 * width, color);
  for (let y = 0; y < img.height; y++) {
    out.data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + width) * out.width + width) * 3);
  }
  return out;
}

/** "original, early, mid, final" as one picture; the exit layer's tile framed in `exitColor`, others in white. */
export function attentionStrip(original: RgbImage, tiles: { image: RgbImage; isExit: boolean }[], border = 3): RgbImage {
  const white: Rgb = [255, 255, 255];
  const exitColor: Rgb = [230, 30, 30];
  return hstack([withBorder(original, white, border), ...tiles.map((t) => withBorder(t.image, t.isExit ? exitColor : white, border))], {
    padding: 4,
    background: white,
  });
}
