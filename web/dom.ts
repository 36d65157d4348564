/**
 * The page's elements, found once, and the small DOM helpers every part uses. The page's HTML
 * (index.html) owns the layout; nothing here creates structure beyond list items and thumbnails.
 */

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}: index.html and the script are out of step (rebuild with node tools/build.mjs web)`);
  return el as T;
}

export function pageElements() {
  return {
    adapter: element('adapter'),
    model: element<HTMLSelectElement>('model'),
    modelFile: element<HTMLInputElement>('model-file'),
    modelInfo: element('model-info'),
    imageFile: element<HTMLInputElement>('image-file'),
    samples: element('samples'),
    method: element<HTMLSelectElement>('method'),
    methodHelp: element('method-help'),
    layer: element<HTMLSelectElement>('layer'),
    target: element<HTMLSelectElement>('target'),
    colormap: element<HTMLSelectElement>('colormap'),
    masks: element<HTMLInputElement>('masks'),
    alpha: element<HTMLInputElement>('alpha'),
    alphaValue: element('alpha-value'),
    run: element<HTMLButtonElement>('run'),
    runAll: element<HTMLButtonElement>('run-all'),
    runTrace: element<HTMLButtonElement>('run-trace'),
    progress: element<HTMLProgressElement>('progress'),
    status: element('status'),
    error: element('error'),
    input: element<HTMLCanvasElement>('input-canvas'),
    inputCaption: element('input-caption'),
    heatmap: element<HTMLCanvasElement>('heatmap-canvas'),
    heatmapCaption: element('heatmap-caption'),
    download: element<HTMLButtonElement>('download'),
    legend: element('legend'),
    legendCanvas: element<HTMLCanvasElement>('legend-canvas'),
    top5: element<HTMLOListElement>('top5'),
    timing: element('timing'),
    gridSection: element('grid-section'),
    grid: element('grid'),
    gridCaption: element('grid-caption'),
    traceSection: element('trace-section'),
    trace: element('trace'),
    traceCaption: element('trace-caption'),
  };
}

export type Ui = ReturnType<typeof pageElements>;

export function option(value: string, text: string, disabled = false): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.disabled = disabled;
  return o;
}

/** A captioned canvas for the grid and strip sections. */
export function thumbnail(caption: string, detail: string, className = ''): { figure: HTMLElement; canvas: HTMLCanvasElement } {
  const figure = document.createElement('figure');
  if (className) figure.className = className;
  const canvas = document.createElement('canvas');
  const text = document.createElement('figcaption');
  const title = document.createElement('b');
  title.textContent = caption;
  text.append(title, document.createElement('br'), detail);
  figure.append(canvas, text);
  return { figure, canvas };
}

export const milliseconds = (t: number) =>
  t < 10 ? `${t.toFixed(1)} ms` : t < 10_000 ? `${t.toFixed(0)} ms` : `${(t / 1000).toFixed(1)} s`;
