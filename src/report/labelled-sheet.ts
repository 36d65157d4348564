/**
 * A picture with one labelled row per entry: the label on the left, that row's tiles to its right,
 * an optional title above and a legend (e.g. a colour bar) below. Used for the localisation
 * benchmark's "one row per method" sheet and the patches sheet's "one row per channel", so a PNG
 * says what it shows without the command line that made it.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from '../features/font.js';
import { blit, createRgbImage, type RgbImage } from '../image/image.js';

export interface SheetRow {
  label: string;
  tiles: readonly RgbImage[];
}

export interface SheetOptions {
  /** Pixels between tiles and around the sheet. Default 3. */
  padding?: number;
  /** Integer text scale. Default 1 (6x9-pixel glyphs). */
  textScale?: number;
  /** Optional line of text above the rows. */
  title?: string;
  /** Optional picture under the rows, left-aligned with the tiles (a colour bar). */
  legend?: RgbImage;
}

export function labelledSheet(rows: readonly SheetRow[], options: SheetOptions = {}): RgbImage {
  if (!rows.length || rows.some((r) => !r.tiles.length)) throw new RangeError('labelledSheet: every row needs at least one tile');
  const { padding = 3, textScale = 1, title, legend } = options;
  const tileW = Math.max(...rows.flatMap((r) => r.tiles.map((t) => t.width)));
  const tileH = Math.max(...rows.flatMap((r) => r.tiles.map((t) => t.height)));
  const columns = Math.max(...rows.map((r) => r.tiles.length));
  const labelW = Math.max(...rows.map((r) => textWidth(r.label, textScale))) + 2 * padding;
  const titleH = title ? GLYPH_HEIGHT * textScale + 2 * padding : 0;
  const width = Math.max(labelW + columns * (tileW + padding), legend ? labelW + legend.width : 0) + padding;
  const rowsH = titleH + rows.length * (tileH + padding) + padding;
  const height = rowsH + (legend ? legend.height + padding : 0);
  const out = createRgbImage(Math.max(width, title ? textWidth(title, textScale) + 2 * padding : 0), height, [255, 255, 255]);
  if (title) drawText(out, title, padding, padding, [0, 0, 0], textScale);
  rows.forEach((row, r) => {
    const y = titleH + padding + r * (tileH + padding);
    drawText(out, row.label, padding, y + Math.floor((tileH - GLYPH_HEIGHT * textScale) / 2), [0, 0, 0], textScale);
    row.tiles.forEach((tile, c) => blit(out, tile, labelW + c * (tileW + padding), y));
  });
  if (legend) blit(out, legend, labelW, rowsH);
  return out;
}

/** `img` with a line of text above it. */
export function titled(img: RgbImage, title: string, { padding = 3, textScale = 1 } = {}): RgbImage {
  const titleH = GLYPH_HEIGHT * textScale + 2 * padding;
  const out = createRgbImage(Math.max(img.width, textWidth(title, textScale) + 2 * padding), img.height + titleH, [255, 255, 255]);
  drawText(out, title, padding, padding, [0, 0, 0], textScale);
  blit(out, img, 0, titleH);
  return out;
}
