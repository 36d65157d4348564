/**
 * Laying several pictures out as one: filter grids, top-K patch sheets, side-by-side strips.
 * Only placement, no text: labels belong to the HTML report.
 */
import { blit, createRgbImage, upscaleNearest, type Rgb, type RgbImage } from './image.js';

/** Options of {@link tileGrid}. */
export interface GridOptions {
  /** Default: ceil(sqrt(n)), a roughly square sheet. */
  columns?: number;
  /** Pixels between cells and around the border. Default 2. */
  padding?: number;
  /** Default white. */
  background?: Rgb;
  /** Integer nearest-neighbour upscale of every tile, e.g. 8 for 3x3 first-layer filters. Default 1. */
  scale?: number;
}

function checkPadding(padding: number): void {
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`padding must be a non-negative integer, got ${padding}`);
}

/**
 * Tiles images row by row into cells the size of the largest (scaled) image, each image
 * centred in its cell. Size: columns*cellW + (columns+1)*padding by rows*cellH + (rows+1)*padding.
 */
export function tileGrid(images: readonly RgbImage[], options: GridOptions = {}): RgbImage {
  if (images.length === 0) throw new RangeError('tileGrid: no images given');
  const { padding = 2, background = [255, 255, 255], scale = 1 } = options;
  const columns = Math.min(options.columns ?? Math.ceil(Math.sqrt(images.length)), images.length);
  if (!Number.isInteger(columns) || columns < 1)
    throw new RangeError(`tileGrid: columns must be a positive integer, got ${options.columns}`);
  checkPadding(padding);
  const tiles = images.map((im) => upscaleNearest(im, scale));
  const cellW = Math.max(...tiles.map((t) => t.width));
  const cellH = Math.max(...tiles.map((t) => t.height));
  const rows = Math.ceil(tiles.length / columns);
  const out = createRgbImage(columns * cellW + (columns + 1) * padding, rows * cellH + (rows + 1) * padding, background);
  tiles.forEach((tile, i) => {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const x = padding + col * (cellW + padding) + Math.floor((cellW - tile.width) / 2);
    const y = padding + row * (cellH + padding) + Math.floor((cellH - tile.height) / 2);
    blit(out, tile, x, y);
  });
  return out;
}

/** Options of {@link hstack} and {@link vstack}. */
export interface StackOptions {
  /** Pixels between neighbouring images (none around the outside). Default 0. */
  padding?: number;
  /** Fills gaps and the margin beside smaller images. Default white. */
  background?: Rgb;
}

/** Places images left to right, top-aligned; width is the sum of widths plus the gaps. */
export function hstack(images: readonly RgbImage[], options: StackOptions = {}): RgbImage {
  if (images.length === 0) throw new RangeError('hstack: no images given');
  const { padding = 0, background = [255, 255, 255] } = options;
  checkPadding(padding);
  const width = images.reduce((sum, im) => sum + im.width, 0) + padding * (images.length - 1);
  const out = createRgbImage(width, Math.max(...images.map((im) => im.height)), background);
  let x = 0;
  for (const im of images) {
    blit(out, im, x, 0);
    x += im.width + padding;
  }
  return out;
}

/** Places images top to bottom, left-aligned; height is the sum of heights plus the gaps. */
export function vstack(images: readonly RgbImage[], options: StackOptions = {}): RgbImage {
  if (images.length === 0) throw new RangeError('vstack: no images given');
  const { padding = 0, background = [255, 255, 255] } = options;
  checkPadding(padding);
  const height = images.reduce((sum, im) => sum + im.height, 0) + padding * (images.length - 1);
  const out = createRgbImage(Math.max(...images.map((im) => im.width)), height, background);
  let y = 0;
  for (const im of images) {
    blit(out, im, 0, y);
    y += im.height + padding;
  }
  return out;
}
