/**
 * Query-and-neighbours strips: one row per query, the query image then its neighbours nearest first.
 * Neighbours sharing the query's label get a green frame, others red (no frame when unlabelled); the
 * class name (or image name) is written under each tile.
 */
import { blit, createRgbImage, upscaleNearest, type Rgb, type RgbImage } from '../image/image.js';
import { vstack } from '../image/grid.js';
import { drawText, GLYPH_HEIGHT, GLYPH_ADVANCE } from './font.js';
import type { ImageSource } from './image-source.js';

/** Options of {@link neighbourStrips}. */
export interface StripOptions {
  /** Integer upscale of each image; default: tiles of at least ~64 pixels. */
  scale?: number;
}

const FRAME = 3;
const GAP = 6;
const SAME: Rgb = [40, 170, 60];
const OTHER: Rgb = [215, 40, 40];
const QUERY: Rgb = [20, 20, 20];

function framed(img: RgbImage, color: Rgb | null): RgbImage {
  const out = createRgbImage(img.width + 2 * FRAME, img.height + 2 * FRAME, color ?? [255, 255, 255]);
  blit(out, img, FRAME, FRAME);
  return out;
}

function caption(width: number, text: string): RgbImage {
  const img = createRgbImage(width, GLYPH_HEIGHT + 4, [255, 255, 255]);
  const fit = text.slice(0, Math.floor(width / GLYPH_ADVANCE));
  drawText(img, fit, Math.floor((width - fit.length * GLYPH_ADVANCE) / 2), 2, [40, 40, 40]);
  return img;
}

/**
 * One strip per query: the query image, then its neighbours, framed green when they share its label and red when not, captioned with
 * their labels.
 */
export async function neighbourStrips(
  source: ImageSource,
  queries: readonly number[],
  neighbours: readonly ArrayLike<number>[],
  opts: StripOptions = {},
): Promise<RgbImage> {
  const scale = opts.scale ?? Math.max(1, Math.ceil(64 / Math.max(source.height, source.width)));
  const name = (i: number) => {
    const l = source.label(i);
    return l >= 0 ? (source.classes[l] ?? `class ${l}`) : source.name(i);
  };
  const tile = async (i: number, color: Rgb | null) => {
    const t = framed(upscaleNearest(await source.picture(i), scale), color);
    return vstack([t, caption(t.width, name(i))], { background: [255, 255, 255] });
  };
  const rows: RgbImage[] = [];
  for (const [r, q] of queries.entries()) {
    const ql = source.label(q);
    const tiles = [await tile(q, QUERY)];
    for (const j of Array.from(neighbours[r])) {
      const l = source.label(j);
      tiles.push(await tile(j, ql < 0 || l < 0 ? null : l === ql ? SAME : OTHER));
    }
    // The query, a wider gap, then the neighbours.
    const width = tiles.reduce((s, t) => s + t.width, 0) + GAP * (tiles.length - 1) + 3 * GAP;
    const row = createRgbImage(width + 2 * GAP, tiles[0].height + 2 * GAP, [255, 255, 255]);
    let x = GAP;
    tiles.forEach((t, k) => {
      blit(row, t, x, GAP);
      x += t.width + GAP + (k === 0 ? 3 * GAP : 0);
    });
    rows.push(row);
  }
  return vstack(rows, { background: [255, 255, 255] });
}
