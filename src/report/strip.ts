import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT } from '../features/font.js';
import { createRgbImage, type Rgb, type RgbImage } from '../image/image.js';
import { hstack, vstack } from '../image/grid.js';
import type { ColormapName } from '../image/colormap.js';
import { colourBarImage } from './colour-bar.js';
import { valueBounds } from '../util/stretch.js';

const WHITE: Rgb = [255, 255, 255];
const EXIT_COLOUR: Rgb = [230, 30, 30];
const TEXT: Rgb = [40, 40, 40];

/** A copy of `img` inside a solid border (marks the layer where E2CM exits). */
export function withBorder(img: RgbImage, color: Rgb, width: number): RgbImage {
  const out = createRgbImage(img.width + 2 * width, img.height + 2 * width, color);
  for (let y = 0; y < img.height; y++) {
    out.data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + width) * out.width + width) * 3);
  }
  return out;
}

/** Lines of text under a tile, clipped to its width. */
function caption(width: number, lines: readonly string[]): RgbImage {
  const img = createRgbImage(width, lines.length * (GLYPH_HEIGHT + 2) + 4, WHITE);
  lines.forEach((line, k) => drawText(img, line.slice(0, Math.floor(width / GLYPH_ADVANCE)), 2, 3 + k * (GLYPH_HEIGHT + 2), TEXT));
  return img;
}

export interface StripTile {
  image: RgbImage;
  isExit?: boolean;
  /** Printed under the tile, one entry per line. */
  caption?: readonly string[];
}

/** "original, early, mid, final" as one picture: the exit layer's tile framed in red, others in white, captions under each. */
export function attentionStrip(original: StripTile, tiles: readonly StripTile[], border = 3): RgbImage {
  const column = (t: StripTile) => {
    const framed = withBorder(t.image, t.isExit ? EXIT_COLOUR : WHITE, border);
    return t.caption?.length ? vstack([framed, caption(framed.width, t.caption)], { background: WHITE }) : framed;
  };
  return hstack([original, ...tiles].map(column), { padding: 4, background: WHITE });
}

/**
 * The strip with its colour key under it: one bar for a shared scale, labelled with the map values its
 * ends stand for, or "0 low .. high 1" when each map has its own range.
 */
export function withColourKey(strip: RgbImage, colormap: ColormapName, range: [number, number] | null): RgbImage {
  const labels = range
    ? { low: `${range[0].toPrecision(2)} (all maps)`, high: `${range[1].toPrecision(2)}` }
    : { low: '0 low (each map)', high: 'high 1' };
  const width = Math.max(120, Math.min(strip.width - 8, 320));
  const title = caption(width, [range ? 'colour scale, shared by every map:' : 'colour scale, per map:']);
  return vstack([strip, hstack([createRgbImage(4, 1, WHITE), vstack([title, colourBarImage(colormap, width, 10, 1, labels)])])], {
    padding: 4,
    background: WHITE,
  });
}

/**
 * Min-max to [0, 1] with one range for all maps (the strip's shared colour scale), so a map that
 * hardly varies looks flat beside one that does. Returns the scaled copies and the range.
 */
export function stretchTogether(maps: readonly ArrayLike<number>[]): { scaled: Float32Array[]; range: [number, number] } {
  const bounds = maps.map(valueBounds);
  const lo = Math.min(...bounds.map((b) => b[0]));
  const hi = Math.max(...bounds.map((b) => b[1]));
  return { scaled: maps.map((m) => Float32Array.from(m, (v) => (v - lo) / (hi - lo + 1e-7))), range: [lo, hi] };
}
