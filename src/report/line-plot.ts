/**
 * Line charts with axes, ticks, labels and a legend, drawn straight into an RgbImage (PNG, the built-in
 * bitmap font) and as SVG: insertion / deletion curves and sanity-check similarity curves. An optional band
 * per series (e.g. a 95 % interval) is shaded under the line. No GPU, no DOM.
 */
import { classColor } from '../features/plot.js';
import { drawText, GLYPH_HEIGHT, textWidth } from '../features/font.js';
import { createRgbImage, type Rgb, type RgbImage } from '../image/image.js';

export interface LineSeries {
  name: string;
  y: readonly number[];
  /** Shaded band around the line, same length as y. */
  lo?: readonly number[];
  hi?: readonly number[];
  /** Dashed in SVG, lighter in PNG: for baselines. */
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  /** x value of each point (shared by every series). */
  x: readonly number[];
  /** Tick labels for x instead of numbers (e.g. layer names), one per point. */
  xTickLabels?: readonly string[];
  /** y range; default: the data's, widened to include 0 and 1 when the data sits inside [0, 1]. */
  yRange?: [number, number];
  width?: number;
  height?: number;
}

const M = 16;
const TITLE = 2;
const SWATCH = 12;
const ROW = 18;
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [120, 120, 120];

interface Frame {
  width: number;
  height: number;
  px: number;
  py: number;
  pw: number;
  ph: number;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  mapX: (x: number) => number;
  mapY: (y: number) => number;
  yTicks: number[];
  xTicks: { x: number; label: string }[];
  legendX: number;
}

function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

const fmt = (v: number, step: number) => v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));

function frame(series: readonly LineSeries[], o: LineChartOptions): Frame {
  if (!series.length) throw new RangeError('line chart: no series');
  for (const s of series)
    if (s.y.length !== o.x.length) throw new RangeError(`line chart: series "${s.name}" has ${s.y.length} points, x has ${o.x.length}`);
  let [y0, y1] = o.yRange ?? [Infinity, -Infinity];
  if (!o.yRange) {
    for (const s of series)
      for (const arr of [s.y, s.lo ?? [], s.hi ?? []])
        for (const v of arr) if (Number.isFinite(v)) [y0, y1] = [Math.min(y0, v), Math.max(y1, v)];
    if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
    if (y0 >= 0 && y1 <= 1) [y0, y1] = [Math.min(0, y0), 1];
    if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  }
  const x0 = Math.min(...o.x);
  const x1 = Math.max(...o.x) > x0 ? Math.max(...o.x) : x0 + 1;
  const step = niceStep(y1 - y0, 5);
  const yTicks: number[] = [];
  for (let v = Math.ceil(y0 / step - 1e-9) * step; v <= y1 + 1e-9 * step; v += step) yTicks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  const xTicks = o.xTickLabels
    ? o.x.map((x, i) => ({ x, label: o.xTickLabels![i] }))
    : (() => {
        const s = niceStep(x1 - x0, 6);
        const t: { x: number; label: string }[] = [];
        for (let v = Math.ceil(x0 / s - 1e-9) * s; v <= x1 + 1e-9 * s; v += s) t.push({ x: v, label: fmt(v, s) });
        return t;
      })();
  const yLabelW = Math.max(...yTicks.map((v) => textWidth(fmt(v, step))));
  const rotated = !!o.xTickLabels; // long names: one per line under the axis, rotated text is not in the bitmap font
  const xTickH = rotated ? Math.max(...xTicks.map((t) => textWidth(t.label))) : GLYPH_HEIGHT;
  const legendW = SWATCH + 6 + Math.max(...series.map((s) => textWidth(s.name)));
  const width = o.width ?? 760;
  const height = o.height ?? 460;
  const titleH = GLYPH_HEIGHT * TITLE + 6 + (o.subtitle ? GLYPH_HEIGHT + 6 : 0);
  const px = M + GLYPH_HEIGHT + 8 + yLabelW + 6;
  const py = M + titleH;
  const pw = Math.max(120, width - px - M - legendW - M);
  const ph = Math.max(120, height - py - 8 - xTickH - 8 - GLYPH_HEIGHT - M);
  return {
    width: px + pw + M + legendW + M,
    height: py + ph + 8 + xTickH + 8 + GLYPH_HEIGHT + M,
    px,
    py,
    pw,
    ph,
    y0,
    y1,
    x0,
    x1,
    mapX: (x) => px + ((x - x0) / (x1 - x0)) * (pw - 1),
    mapY: (y) => py + (1 - (Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * (ph - 1),
    yTicks,
    xTicks,
    legendX: px + pw + M,
  };
}

function seriesColor(i: number): Rgb {
  return classColor(i);
}

function plot(img: RgbImage, x: number, y: number, c: Rgb, alpha = 1): void {
  const X = Math.round(x);
  const Y = Math.round(y);
  if (X < 0 || Y < 0 || X >= img.width || Y >= img.height) return;
  const i = (Y * img.width + X) * 3;
  for (let ch = 0; ch < 3; ch++) img.data[i + ch] = Math.round(img.data[i + ch] * (1 - alpha) + c[ch] * alpha);
}

function segment(img: RgbImage, xa: number, ya: number, xb: number, yb: number, c: Rgb, thick: number, alpha = 1): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(xb - xa), Math.abs(yb - ya)) * 2));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const x = xa + (xb - xa) * t;
    const y = ya + (yb - ya) * t;
    for (let d = -Math.floor(thick / 2); d <= Math.floor((thick - 1) / 2); d++) {
      plot(img, x, y + d, c, alpha);
      plot(img, x + d, y, c, alpha);
    }
  }
}

/** The chart as a picture (PNG through image/encode-node). */
export function lineChart(series: readonly LineSeries[], o: LineChartOptions): RgbImage {
  const f = frame(series, o);
  const img = createRgbImage(f.width, f.height, [255, 255, 255]);
  drawText(img, o.title, M, M, INK, TITLE);
  if (o.subtitle) drawText(img, o.subtitle, M, M + GLYPH_HEIGHT * TITLE + 6, [90, 90, 90]);
  const step = f.yTicks.length > 1 ? f.yTicks[1] - f.yTicks[0] : 1;
  for (const v of f.yTicks) {
    const y = f.mapY(v);
    segment(img, f.px, y, f.px + f.pw - 1, y, GRID, 1);
    const label = fmt(v, step);
    drawText(img, label, f.px - 6 - textWidth(label), Math.round(y - GLYPH_HEIGHT / 2), INK);
  }
  const tickY = f.py + f.ph + 8;
  for (const t of f.xTicks) {
    const x = f.mapX(t.x);
    segment(img, x, f.py + f.ph - 1, x, f.py + f.ph + 3, AXIS, 1);
    if (o.xTickLabels) {
      // One character per row, top to bottom: readable without rotated glyphs.
      for (let k = 0; k < t.label.length; k++) drawText(img, t.label[k], Math.round(x - 2), tickY + k * 6, INK);
    } else drawText(img, t.label, Math.round(x - textWidth(t.label) / 2), tickY, INK);
  }
  segment(img, f.px, f.py + f.ph - 1, f.px + f.pw - 1, f.py + f.ph - 1, AXIS, 1);
  segment(img, f.px, f.py, f.px, f.py + f.ph - 1, AXIS, 1);
  const xTickH = o.xTickLabels ? Math.max(...f.xTicks.map((t) => t.label.length * 6)) : GLYPH_HEIGHT;
  drawText(img, o.xLabel, Math.round(f.px + f.pw / 2 - textWidth(o.xLabel) / 2), tickY + xTickH + 8, INK);
  // The y label, written vertically (one character per row) left of the tick labels.
  const yl = o.yLabel;
  const ylTop = Math.round(f.py + f.ph / 2 - (yl.length * 9) / 2);
  for (let k = 0; k < yl.length; k++) drawText(img, yl[k], M, ylTop + k * 9, INK);
  series.forEach((s, i) => {
    const c = seriesColor(i);
    if (s.lo && s.hi) {
      for (let k = 0; k + 1 < o.x.length; k++) {
        const xa = Math.round(f.mapX(o.x[k]));
        const xb = Math.round(f.mapX(o.x[k + 1]));
        // Each column once: a segment owns its left edge, the last one its right edge too.
        for (let x = xa; x < xb || (x === xb && k + 2 === o.x.length); x++) {
          const t = xb > xa ? (x - xa) / (xb - xa) : 0;
          const lo = f.mapY(s.lo[k] + (s.lo[k + 1] - s.lo[k]) * t);
          const hi = f.mapY(s.hi[k] + (s.hi[k + 1] - s.hi[k]) * t);
          for (let y = Math.round(hi); y <= Math.round(lo); y++) plot(img, x, y, c, 0.12);
        }
      }
    }
    for (let k = 0; k + 1 < o.x.length; k++) {
      if (!Number.isFinite(s.y[k]) || !Number.isFinite(s.y[k + 1])) continue;
      segment(img, f.mapX(o.x[k]), f.mapY(s.y[k]), f.mapX(o.x[k + 1]), f.mapY(s.y[k + 1]), c, 2, s.dashed ? 0.5 : 1);
    }
    const ly = f.py + 4 + i * ROW;
    for (let y = ly; y < ly + SWATCH; y++) segment(img, f.legendX, y, f.legendX + SWATCH - 1, y, c, 1, s.dashed ? 0.5 : 1);
    drawText(img, s.name, f.legendX + SWATCH + 6, ly + 2, INK);
  });
  return img;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);
}

const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** The same chart as SVG text (real text, rotated labels). */
export function lineChartSvg(series: readonly LineSeries[], o: LineChartOptions): string {
  const f = frame(series, o);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="${M}" y="${M + 14}" font-size="16" fill="#1e1e1e">${escapeXml(o.title)}</text>`,
  ];
  if (o.subtitle) out.push(`<text x="${M}" y="${M + GLYPH_HEIGHT * TITLE + 14}" fill="#5a5a5a">${escapeXml(o.subtitle)}</text>`);
  const step = f.yTicks.length > 1 ? f.yTicks[1] - f.yTicks[0] : 1;
  for (const v of f.yTicks) {
    const y = f.mapY(v).toFixed(1);
    out.push(`<line x1="${f.px}" x2="${f.px + f.pw}" y1="${y}" y2="${y}" stroke="${hex(GRID)}"/>`);
    out.push(`<text x="${f.px - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v, step)}</text>`);
  }
  const tickY = f.py + f.ph + 8;
  for (const t of f.xTicks) {
    const x = f.mapX(t.x).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${f.py + f.ph}" y2="${f.py + f.ph + 4}" stroke="${hex(AXIS)}"/>`);
    out.push(
      o.xTickLabels
        ? `<text transform="translate(${x},${tickY}) rotate(90)" dominant-baseline="middle">${escapeXml(t.label)}</text>`
        : `<text x="${x}" y="${tickY + 9}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    );
  }
  out.push(`<path d="M${f.px},${f.py}V${f.py + f.ph}H${f.px + f.pw}" fill="none" stroke="${hex(AXIS)}"/>`);
  out.push(`<text x="${f.px + f.pw / 2}" y="${f.height - M}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(${M + 9},${f.py + f.ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = hex(seriesColor(i));
    if (s.lo && s.hi) {
      const up = o.x.map((x, k) => `${f.mapX(x).toFixed(1)},${f.mapY(s.hi![k]).toFixed(1)}`);
      const down = o.x.map((x, k) => `${f.mapX(x).toFixed(1)},${f.mapY(s.lo![k]).toFixed(1)}`).reverse();
      out.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${c}" fill-opacity="0.12" stroke="none"/>`);
    }
    const pts = o.x.map((x, k) => `${f.mapX(x).toFixed(1)},${f.mapY(s.y[k]).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></polyline>`,
    );
    const ly = f.py + 4 + i * ROW;
    out.push(`<rect x="${f.legendX}" y="${ly}" width="${SWATCH}" height="${SWATCH}" fill="${c}"/>`);
    out.push(`<text x="${f.legendX + SWATCH + 6}" y="${ly + 10}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
