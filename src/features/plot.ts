/**
 * 2-D embeddings as scatter plots coloured by class, with axes (ticks, values, labels) and a class
 * legend: drawn straight into an RgbImage (for PNG, text in the built-in bitmap font) and as SVG
 * (real text). Nothing here touches the GPU.
 */
import { createRgbImage, type Rgb, type RgbImage } from '../image/image.js';
import { FeatureInputError } from './errors.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';

/** matplotlib's tab10, then evenly spread hues for more classes; unlabelled points are grey. */
const TAB10: Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const UNLABELLED: Rgb = [160, 160, 160];

/** The colour of class `label` in plots: matplotlib's tab10 for the first ten, spread hues after, grey for unlabelled (-1). */
export function classColor(label: number): Rgb {
  if (label < 0) return UNLABELLED;
  if (label < TAB10.length) return TAB10[label];
  // Golden-angle hues, fixed saturation and value.
  const h = ((label * 137.508) % 360) / 60;
  const c = 0.75 * 0.85;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] = h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] : h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
  const m = 0.85 - c;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** Title, size and point radius of a scatter plot. */
export interface ScatterOptions {
  title?: string;
  subtitle?: string;
  /** Side of the square plot area in pixels; default 560. */
  size?: number;
  /** Point radius in pixels; default 3. */
  radius?: number;
  /** Axis labels; default "x" and "y". */
  xLabel?: string;
  yLabel?: string;
}

interface Tick {
  /** Pixel position along the axis (x for the horizontal axis, y for the vertical). */
  at: number;
  text: string;
}

interface Layout {
  width: number;
  height: number;
  plotX: number;
  plotY: number;
  size: number;
  legendX: number;
  legendY: number;
  classes: { label: number; name: string }[];
  map: (i: number) => [number, number];
  xTicks: Tick[];
  yTicks: Tick[];
  /** Where the axis labels go: x centred under the tick values, y above the plot's top-left corner. */
  xLabel: { x: number; y: number; text: string };
  yLabel: { x: number; y: number; text: string };
}

/** About `count` round values (1, 2 or 5 times a power of ten apart) inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const rough = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(digits)));
  return out;
}

function tickText(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return (Object.is(v, -0) ? 0 : v).toFixed(digits);
}

const MARGIN = 16;
const TICK = 4;
const TITLE_SCALE = 2;
const LEGEND_SCALE = 2;
const SWATCH = 12;
const LEGEND_ROW = 22;

function layout(points: ArrayLike<number>, labels: ArrayLike<number>, classNames: readonly string[], opts: ScatterOptions): Layout {
  const n = labels.length;
  if (points.length !== 2 * n) throw new FeatureInputError(`scatter: ${points.length / 2} points but ${n} labels`);
  if (n === 0) throw new FeatureInputError('scatter: no points');
  const size = opts.size ?? 560;
  const present = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const classes = present.map((label) => ({ label, name: label < 0 ? 'unlabelled' : (classNames[label] ?? `class ${label}`) }));
  const legendW = SWATCH + 8 + Math.max(...classes.map((c) => textWidth(c.name, LEGEND_SCALE)));
  const titleH = (opts.title ? GLYPH_HEIGHT * TITLE_SCALE + 6 : 0) + (opts.subtitle ? GLYPH_HEIGHT + 6 : 0);
  const textW = Math.max(opts.title ? textWidth(opts.title, TITLE_SCALE) : 0, opts.subtitle ? textWidth(opts.subtitle) : 0);
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const [x, y] = [points[2 * i], points[2 * i + 1]];
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new FeatureInputError(`scatter: point ${i} is not finite (${x}, ${y})`);
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  }
  // One scale for both axes keeps distances honest; 5 % inset so points do not touch the frame.
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const k = (size * 0.9) / span;
  // Values at the plot's edges, then round ticks inside them.
  const half = size / 2 / k;
  const xValues = niceTicks(cx - half, cx + half);
  const yValues = niceTicks(cy - half, cy + half);
  const yTexts = yValues.map((v) => tickText(v, yValues));
  const yTickW = Math.max(...yTexts.map((t) => textWidth(t))) + TICK + 4;
  const axisLabelH = GLYPH_HEIGHT + 6;
  const plotX = MARGIN + yTickW;
  const plotY = MARGIN + titleH + axisLabelH;
  const belowPlot = TICK + 2 + GLYPH_HEIGHT + 6 + GLYPH_HEIGHT;
  const xLabelText = opts.xLabel ?? 'x';
  const width = Math.max(plotX + size + MARGIN + legendW + MARGIN, MARGIN + textW + MARGIN);
  const height = Math.max(plotY + size + belowPlot + MARGIN, plotY + classes.length * LEGEND_ROW + MARGIN);
  return {
    width,
    height,
    plotX,
    plotY,
    size,
    legendX: plotX + size + MARGIN,
    legendY: plotY + 4,
    classes,
    map: (i) => [plotX + size / 2 + (points[2 * i] - cx) * k, plotY + size / 2 - (points[2 * i + 1] - cy) * k],
    xTicks: xValues.map((v) => ({ at: plotX + size / 2 + (v - cx) * k, text: tickText(v, xValues) })),
    yTicks: yValues.map((v, i) => ({ at: plotY + size / 2 - (v - cy) * k, text: yTexts[i] })),
    xLabel: { x: plotX + Math.round((size - textWidth(xLabelText)) / 2), y: plotY + size + TICK + 2 + GLYPH_HEIGHT + 6, text: xLabelText },
    yLabel: { x: MARGIN, y: MARGIN + titleH, text: opts.yLabel ?? 'y' },
  };
}

function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  for (let yy = Math.max(0, y); yy < Math.min(img.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(img.width, x + w); xx++) {
      const i = (yy * img.width + xx) * 3;
      img.data[i] = c[0];
      img.data[i + 1] = c[1];
      img.data[i + 2] = c[2];
    }
  }
}

/** A filled disc blended at `alpha` so dense regions read darker. */
function disc(img: RgbImage, cx: number, cy: number, r: number, c: Rgb, alpha: number): void {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
      if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
      const i = (y * img.width + x) * 3;
      for (let ch = 0; ch < 3; ch++) img.data[i + ch] = Math.round(img.data[i + ch] * (1 - alpha) + c[ch] * alpha);
    }
  }
}

/** points: (N, 2) row-major; labels: class index per point (-1 unlabelled). */
export function scatterPlot(
  points: ArrayLike<number>,
  labels: ArrayLike<number>,
  classNames: readonly string[],
  opts: ScatterOptions = {},
): RgbImage {
  const L = layout(points, labels, classNames, opts);
  const img = createRgbImage(L.width, L.height, [255, 255, 255]);
  const ink: Rgb = [30, 30, 30];
  let ty = MARGIN;
  if (opts.title) {
    drawText(img, opts.title, MARGIN, ty, ink, TITLE_SCALE);
    ty += GLYPH_HEIGHT * TITLE_SCALE + 6;
  }
  if (opts.subtitle) drawText(img, opts.subtitle, MARGIN, ty, [90, 90, 90], 1);
  // Frame.
  const frame: Rgb = [190, 190, 190];
  fillRect(img, L.plotX, L.plotY, L.size, 1, frame);
  fillRect(img, L.plotX, L.plotY + L.size - 1, L.size, 1, frame);
  fillRect(img, L.plotX, L.plotY, 1, L.size, frame);
  fillRect(img, L.plotX + L.size - 1, L.plotY, 1, L.size, frame);
  const axis: Rgb = [70, 70, 70];
  for (const t of L.xTicks) {
    const x = Math.round(t.at);
    fillRect(img, x, L.plotY + L.size, 1, TICK, axis);
    drawText(img, t.text, x - Math.floor(textWidth(t.text) / 2), L.plotY + L.size + TICK + 2, axis);
  }
  for (const t of L.yTicks) {
    const y = Math.round(t.at);
    fillRect(img, L.plotX - TICK, y, TICK, 1, axis);
    drawText(img, t.text, L.plotX - TICK - 2 - textWidth(t.text), y - Math.floor(GLYPH_HEIGHT / 2), axis);
  }
  drawText(img, L.xLabel.text, L.xLabel.x, L.xLabel.y, ink);
  drawText(img, L.yLabel.text, L.yLabel.x, L.yLabel.y, ink);
  const r = opts.radius ?? 3;
  for (let i = 0; i < labels.length; i++) {
    const [x, y] = L.map(i);
    disc(img, x, y, r, classColor(labels[i]), 0.8);
  }
  L.classes.forEach((c, row) => {
    const y = L.legendY + row * LEGEND_ROW;
    fillRect(img, L.legendX, y, SWATCH, SWATCH, classColor(c.label));
    drawText(img, c.name, L.legendX + SWATCH + 8, y - 1, ink, LEGEND_SCALE);
  });
  return img;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** The same plot as SVG text: one circle per point, a text legend. */
export function scatterSvg(
  points: ArrayLike<number>,
  labels: ArrayLike<number>,
  classNames: readonly string[],
  opts: ScatterOptions = {},
): string {
  const L = layout(points, labels, classNames, opts);
  const r = opts.radius ?? 3;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  let ty = MARGIN;
  if (opts.title) {
    out.push(`<text x="${MARGIN}" y="${ty + 14}" font-size="16" fill="#1e1e1e">${escapeXml(opts.title)}</text>`);
    ty += GLYPH_HEIGHT * TITLE_SCALE + 6;
  }
  if (opts.subtitle) out.push(`<text x="${MARGIN}" y="${ty + 8}" font-size="10" fill="#5a5a5a">${escapeXml(opts.subtitle)}</text>`);
  out.push(`<rect x="${L.plotX + 0.5}" y="${L.plotY + 0.5}" width="${L.size - 1}" height="${L.size - 1}" fill="none" stroke="#bebebe"/>`);
  out.push('<g font-size="10" fill="#464646" stroke="none">');
  for (const t of L.xTicks) {
    out.push(
      `<line x1="${t.at.toFixed(1)}" x2="${t.at.toFixed(1)}" y1="${L.plotY + L.size}" y2="${L.plotY + L.size + TICK}" stroke="#464646"/>`,
    );
    out.push(`<text x="${t.at.toFixed(1)}" y="${L.plotY + L.size + TICK + 10}" text-anchor="middle">${escapeXml(t.text)}</text>`);
  }
  for (const t of L.yTicks) {
    out.push(`<line x1="${L.plotX - TICK}" x2="${L.plotX}" y1="${t.at.toFixed(1)}" y2="${t.at.toFixed(1)}" stroke="#464646"/>`);
    out.push(`<text x="${L.plotX - TICK - 2}" y="${(t.at + 3.5).toFixed(1)}" text-anchor="end">${escapeXml(t.text)}</text>`);
  }
  out.push('</g>');
  out.push(
    `<text x="${L.plotX + L.size / 2}" y="${L.xLabel.y + 9}" font-size="12" text-anchor="middle" fill="#1e1e1e">${escapeXml(L.xLabel.text)}</text>`,
  );
  out.push(`<text x="${L.yLabel.x}" y="${L.yLabel.y + 9}" font-size="12" fill="#1e1e1e">${escapeXml(L.yLabel.text)}</text>`);
  for (const c of L.classes) {
    out.push(`<g fill="${hex(classColor(c.label))}" fill-opacity="0.8"><title>${escapeXml(c.name)}</title>`);
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== c.label) continue;
      const [x, y] = L.map(i);
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}"/>`);
    }
    out.push('</g>');
  }
  L.classes.forEach((c, row) => {
    const y = L.legendY + row * LEGEND_ROW;
    out.push(`<rect x="${L.legendX}" y="${y}" width="${SWATCH}" height="${SWATCH}" fill="${hex(classColor(c.label))}"/>`);
    out.push(`<text x="${L.legendX + SWATCH + 8}" y="${y + 11}" font-size="14" fill="#1e1e1e">${escapeXml(c.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
