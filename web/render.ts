/**
 * Drawing results: the overlay (redrawn from the kept map when opacity or colormap change), its
 * colour bar, the top-5 list, thumbnails for the all-methods grid and the LayerTracer strip, and the
 * PNG download. Pictures come from the library (renderExplanation, overlayHeatmap); this file only
 * puts them on canvases.
 */
import {
  applyColormap,
  drawImage,
  overlayHeatmap,
  renderExplanation,
  stretchTogether,
  type ColormapName,
  type Explanation,
  type Prediction,
  type RgbImage,
} from '../src/browser.js';
import { milliseconds, thumbnail, type Ui } from './dom.js';

/** Longer side of the main overlay, px. */
export const VIEW = 256;
/** Longer side of a grid or strip thumbnail, px. */
export const THUMB = 112;

export interface DisplaySettings {
  colormap: ColormapName;
  alpha: number;
}

export function displaySettings(ui: Ui): DisplaySettings {
  const alpha = Number(ui.alpha.value);
  return { colormap: ui.colormap.value as ColormapName, alpha: alpha >= 0 && alpha <= 1 ? alpha : 0.5 };
}

/** The main result: the overlay at VIEW pixels, its caption and colour bar. */
export function drawResult(ui: Ui, result: Explanation, caption: string): void {
  const settings = displaySettings(ui);
  ui.alphaValue.textContent = `${Math.round(settings.alpha * 100)}%`;
  drawImage(ui.heatmap, renderExplanation(result, { ...settings, overlaySize: VIEW }));
  ui.heatmap.dataset.method = result.method;
  // Signed maps are RGB gradients pixel for pixel; heatmaps are smooth.
  ui.heatmap.style.imageRendering = result.kind === 'signed' ? 'pixelated' : '';
  ui.heatmapCaption.textContent = caption;
  ui.legend.hidden = result.kind !== 'heatmap';
  if (result.kind === 'heatmap') drawColourBar(ui.legendCanvas, settings.colormap);
  ui.download.disabled = false;
}

function drawColourBar(canvas: HTMLCanvasElement, colormap: ColormapName): void {
  const ramp = Float32Array.from({ length: 140 }, (_, i) => i / 139);
  drawImage(canvas, applyColormap(ramp, 140, 1, colormap, { range: [0, 1] }));
}

export function clearResult(ui: Ui): void {
  const ctx = ui.heatmap.getContext('2d')!;
  ui.heatmap.width = VIEW;
  ui.heatmap.height = VIEW;
  ctx.clearRect(0, 0, VIEW, VIEW);
  delete ui.heatmap.dataset.method;
  ui.heatmapCaption.textContent = 'attribution map (press Run)';
  ui.legend.hidden = true;
  ui.top5.replaceChildren();
  ui.timing.textContent = '';
  ui.download.disabled = true;
}

export function showTop5(ui: Ui, predictions: Prediction[], target: number): void {
  ui.top5.replaceChildren(
    ...predictions.map((p) => {
      const li = document.createElement('li');
      if (p.index === target) li.className = 'target';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.label;
      name.title = `class ${p.index}${p.index === target ? ' (explained)' : ''}`;
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = `${(p.prob * 100).toFixed(1)}%`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('i');
      fill.style.width = `${Math.max(0.5, p.prob * 100)}%`;
      bar.append(fill);
      li.append(name, pct, bar);
      return li;
    }),
  );
}

/** One cell of the all-methods grid; clicking it makes it the main result. */
export function addGridCell(ui: Ui, result: Explanation, title: string, ms: number, onPick: () => void): void {
  const settings = displaySettings(ui);
  const { figure, canvas } = thumbnail(title, `${result.layer ? `${result.layer} · ` : ''}${milliseconds(ms)}`);
  figure.dataset.method = result.method;
  figure.title = 'show it large';
  drawImage(canvas, renderExplanation(result, { ...settings, overlaySize: THUMB }));
  figure.addEventListener('click', onPick);
  ui.grid.append(figure);
}

export interface StripTile {
  layer: string;
  map: Float32Array;
  width: number;
  height: number;
  confidence?: number;
  isExit: boolean;
}

/**
 * The LayerTracer strip: the input, then one map per exit (the exit E2CM takes framed), all on one
 * colour scale (as `layertracer trace` draws it), whose range it returns.
 */
export function drawStrip(ui: Ui, input: RgbImage, tiles: StripTile[]): [number, number] {
  const { scaled, range } = stretchTogether(tiles.map((t) => t.map));
  const settings = displaySettings(ui);
  ui.trace.replaceChildren();
  const first = thumbnail('input', `${input.width}×${input.height}`);
  drawImage(first.canvas, input);
  ui.trace.append(first.figure);
  for (const [k, t] of tiles.entries()) {
    const detail = t.confidence === undefined ? 'classifier softmax' : `E2CM confidence ${(t.confidence * 100).toFixed(0)}%`;
    const { figure, canvas } = thumbnail(t.layer, detail, t.isExit ? 'exit' : '');
    figure.dataset.layer = t.layer;
    drawImage(canvas, overlayHeatmap(input, scaled[k], t.width, t.height, settings));
    ui.trace.append(figure);
  }
  return range;
}

/** The overlay as the user sees it, saved as a PNG file. */
export function downloadCanvas(canvas: HTMLCanvasElement, fileName: string): Promise<void> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => {
      if (!blob) return reject(new Error('the browser could not encode the picture as PNG'));
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      resolve();
    }, 'image/png'),
  );
}
