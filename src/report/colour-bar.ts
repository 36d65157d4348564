/**
 * The key to every heatmap: a colour bar from 0 to 1 with its reading, as a picture (for PNG sheets)
 * and as HTML (for reports). Heatmaps are drawn on a fixed [0, 1] scale and methods min-max
 * normalise each map, so the bar reads the same for every map: its top is that map's maximum.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from '../features/font.js';
import { colormapColor, type ColormapName } from '../image/colormap.js';
import { createRgbImage, type RgbImage } from '../image/image.js';
import { escapeHtml } from './html.js';

export const HEATMAP_READING = "each map scaled to its own range: its strongest point is 1, the colormap's top";

/**
 * A horizontal bar `width` wide with its end labels under it ("0 low" and "high 1" unless `labels` names
 * the values a shared scale maps to them); the picture is `barHeight` + one text line tall.
 */
export function colourBarImage(
  colormap: ColormapName,
  width: number,
  barHeight = 10,
  textScale = 1,
  labels: { low: string; high: string } = { low: '0 low', high: 'high 1' },
): RgbImage {
  const { low, high } = labels;
  if (!Number.isInteger(width) || width < textWidth(low + high, textScale) + 8)
    throw new RangeError(`colour bar: width ${width} is too narrow for its labels`);
  const out = createRgbImage(width, barHeight + 2 + GLYPH_HEIGHT * textScale, [255, 255, 255]);
  for (let x = 0; x < width; x++) {
    const c = colormapColor(colormap, width > 1 ? x / (width - 1) : 0);
    for (let y = 0; y < barHeight; y++) out.data.set(c, (y * width + x) * 3);
  }
  drawText(out, low, 0, barHeight + 2, [60, 60, 60], textScale);
  drawText(out, high, width - textWidth(high, textScale), barHeight + 2, [60, 60, 60], textScale);
  return out;
}

/** CSS gradient stops sampled from the colormap. */
function gradientCss(colormap: ColormapName, stops = 16): string {
  const parts = Array.from({ length: stops + 1 }, (_, i) => {
    const [r, g, b] = colormapColor(colormap, i / stops);
    return `rgb(${r},${g},${b}) ${((100 * i) / stops).toFixed(1)}%`;
  });
  return `linear-gradient(to right, ${parts.join(', ')})`;
}

/**
 * The legend block of a report: the heatmap colour bar with its reading and, when signed maps are
 * shown, how to read those. `reading` replaces the default where maps share one scale.
 */
export function colourLegendHtml(colormap: ColormapName, { withSigned = true, reading = HEATMAP_READING } = {}): string {
  const bar = `<div class="legend-item"><div class="colour-bar" style="background: ${gradientCss(colormap)}"></div><div class="colour-bar-labels"><span>0 low</span><span>high 1</span></div><div class="note">heatmaps (${escapeHtml(colormap)}): ${escapeHtml(reading)}</div></div>`;
  const signed = withSigned
    ? `<div class="legend-item"><div class="colour-bar" style="background: linear-gradient(to right, #000, #808080, #fff)"></div><div class="colour-bar-labels"><span>&minus;</span><span>0</span><span>+</span></div><div class="note">signed gradients (DeconvNet, guided backprop, Guided Grad-CAM): grey is 0; each RGB channel brightens or darkens with the sign of its gradient</div></div>`
    : '';
  return `<div class="legend">${bar}${signed}</div>`;
}
