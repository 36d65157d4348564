/**
 * A picture with one labelled row per method: the label on the left, that method's tiles to its
 * right. Used for the localisation benchmark's "one picture per method" sheet, so the README can show
 * every method on the same images in one PNG.
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
}

export function labelledSheet(rows: readonly SheetRow[], options: SheetOptions = {}): RgbImage {
  if (!rows.length || rows.some((r) => !r.tiles.length)) throw new RangeError('labelledSheet: every row needs at least one tile');
  const { padding = 3, textScale = 1, title } = options;
  const tileW = Math.max(...rows.flatMap((r) => r.tiles.map((t) => t.width)));
  const tileH = Math.max(...rows.flatMap((r) => r.tiles.map((t) => t.height)));
  const columns = Math.max(...rows.map((r) => r.tiles.length));
  const labelW = Math.max(...rows.map((r) => textWidth(r.label, textScale))) + 2 * padding;
  const titleH = title ? GLYPH_HEIGHT * textScale + 2 * padding : 0;
  const width = labelW + columns * (tileW + padding) + padding;
  const height = titleH + rows.length * (tileH + padding) + padding;
  const out = createRgbImage(Math.max(width, title ? textWidth(title, textScale) + 2 * padding : 0), height, [255, 255, 255]);
  if (title) drawText(out, title, padding, padding, [0, 0, 0], textScale);
  rows.forEach((row, r) => {
    const y = titleH + padding + r * (tileH + padding);
    drawText(out, row.label, padding, y + Math.floor((tileH - GLYPH_HEIGHT * textScale) / 2), [0, 0, 0], textScale);
    row.tiles.forEach((tile, c) => blit(out, tile, labelW + c * (tileW + padding), y));
  });
  return out;
}
