/**
 * The LayerTracer page: load an image, pick model / method / layer / class, see the heatmap.
 * Plain DOM, no framework; everything runs in the browser on navigator.gpu through the library.
 *
 * Models: whatever the server lists at weights/index.json (web/serve.mjs: the embedded defaults in
 * weights/ and any extra folder), else the two embedded defaults by name; or a .safetensors file
 * from disk. Images: a file (PNG, JPEG, anything the browser decodes) or a built-in synthetic sample.
 *
 * For scripted use (test/browser/page.test.ts) <body data-state> is one of starting, loading, ready,
 * running, done, error, and data-runs counts the finished runs.
 */
import {
  acquireEngine,
  applyColormap,
  COLORMAP_NAMES,
  DeviceLostError,
  fetchSafetensors,
  gradientToImage,
  METHODS,
  modelFromFile,
  overlayHeatmap,
  parseSafetensors,
  preprocessForModel,
  resizeImage,
  type ColormapName,
  type Engine,
  type Model,
  type RgbImage,
  type SafetensorsFile,
} from '../src/index.js';
import { generateSample, SPLIT_SEEDS, SYNTHETIC_CLASSES } from '../src/data/synthetic/index.js';
import { decodeImageBlob } from '../src/image/decode-browser.js';
import type { MethodEntry } from '../src/methods/registry.js';
import { stretchToUnit } from '../src/util/stretch.js';

const DEFAULT_MODELS = ['default-resnet.safetensors', 'default-vgg.safetensors'];
const SAMPLE_COUNT = 8;
/** Longer side of the overlay canvas, px. */
const VIEW = 256;

// ---------------------------------------------------------------------------------------------
// DOM

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  adapter: $('adapter'),
  model: $<HTMLSelectElement>('model'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelInfo: $('model-info'),
  imageFile: $<HTMLInputElement>('image-file'),
  samples: $('samples'),
  method: $<HTMLSelectElement>('method'),
  layer: $<HTMLSelectElement>('layer'),
  target: $<HTMLSelectElement>('target'),
  colormap: $<HTMLSelectElement>('colormap'),
  masks: $<HTMLInputElement>('masks'),
  run: $<HTMLButtonElement>('run'),
  status: $('status'),
  error: $('error'),
  input: $<HTMLCanvasElement>('input-canvas'),
  inputCaption: $('input-caption'),
  heatmap: $<HTMLCanvasElement>('heatmap-canvas'),
  heatmapCaption: $('heatmap-caption'),
  legend: $('legend'),
  legendCanvas: $<HTMLCanvasElement>('legend-canvas'),
  top5: $<HTMLOListElement>('top5'),
  timing: $('timing'),
};

type PageState = 'starting' | 'loading' | 'ready' | 'running' | 'done' | 'error';
function setState(s: PageState): void {
  document.body.dataset.state = s;
  const busy = s === 'starting' || s === 'loading' || s === 'running';
  ui.run.disabled = busy || !model || !image;
  // The model must not change under a running method (it would be released mid-run).
  ui.model.disabled = busy;
  ui.modelFile.disabled = busy;
}

function status(text: string): void {
  ui.status.textContent = text;
}

function showError(what: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(e);
  ui.error.replaceChildren();
  const title = document.createElement('strong');
  title.textContent = what;
  ui.error.append(title, `\n${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`);
  ui.error.classList.add('shown');
  status('');
  setState('error');
}

function clearError(): void {
  ui.error.classList.remove('shown');
  ui.error.replaceChildren();
}

function option(value: string, text: string, disabled = false): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  o.disabled = disabled;
  return o;
}

function drawImage(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const rgba = new ImageData(img.width, img.height);
  for (let i = 0, n = img.width * img.height; i < n; i++) {
    rgba.data[4 * i] = img.data[3 * i];
    rgba.data[4 * i + 1] = img.data[3 * i + 1];
    rgba.data[4 * i + 2] = img.data[3 * i + 2];
    rgba.data[4 * i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
}

const ms = (t: number) => (t < 10 ? t.toFixed(1) : t.toFixed(0));

// ---------------------------------------------------------------------------------------------
// State

let engine: Engine | null = null;
let model: Model | null = null;
/** How to (re)load the selected model: a URL, or the bytes of a file the user picked. */
const modelSources = new Map<string, () => Promise<SafetensorsFile>>();
let modelKey = '';
let image: { rgb: RgbImage; name: string; label?: string } | null = null;
/** The last map, kept so a colormap change redraws without running again. */
let last: { kind: 'heatmap' | 'signed'; map: Float32Array; c: number; h: number; w: number; base: RgbImage; caption: string } | null = null;
let runs = 0;

// ---------------------------------------------------------------------------------------------
// WebGPU

const ENABLE_WEBGPU_HELP = [
  'This page computes attribution maps on the GPU with WebGPU. To enable it:',
  '• Chrome / Edge 113+ on Windows, macOS and ChromeOS have it on by default: update the browser.',
  '• Chrome / Chromium on Linux: open chrome://flags/#enable-unsafe-webgpu, set it to Enabled and relaunch',
  '  (or start it with --enable-unsafe-webgpu; add --enable-features=Vulkan if it still finds no adapter).',
  '• Firefox: on by default on Windows (141+); elsewhere set dom.webgpu.enabled to true in about:config.',
  '• Safari: Safari 26+, or Technology Preview with the WebGPU feature flag.',
].join('\n');

async function ensureEngine(): Promise<Engine> {
  if (engine) return engine;
  if (!window.isSecureContext) {
    throw new Error(
      `WebGPU needs a secure context: open this page over https, or from http://localhost / http://127.0.0.1 (this is ${location.origin}).`,
    );
  }
  if (!('gpu' in navigator) || !navigator.gpu)
    throw new Error(`This browser has no WebGPU (navigator.gpu is missing).\n\n${ENABLE_WEBGPU_HELP}`);
  try {
    engine = await acquireEngine();
  } catch (err) {
    // Typically navigator.gpu exists but offers no adapter (blocklisted GPU, WebGPU switched off).
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n\n${ENABLE_WEBGPU_HELP}`, { cause: err });
  }
  const a = engine.adapter;
  ui.adapter.textContent = `GPU: ${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || a.description || 'unknown adapter'}${a.isSoftware ? ' (software)' : ''}`;
  return engine;
}

/** After a lost device nothing on the GPU survives: start over on the next action. */
function forgetGpu(): void {
  model = null;
  engine = null;
}

// ---------------------------------------------------------------------------------------------
// Models

async function listServedModels(): Promise<string[]> {
  try {
    const r = await fetch('weights/index.json', { cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    const list = (await r.json()) as { models: { file: string }[] };
    const files = list.models.map((m) => m.file);
    // The embedded defaults first, the rest in the server's order.
    return [...DEFAULT_MODELS.filter((f) => files.includes(f)), ...files.filter((f) => !DEFAULT_MODELS.includes(f))];
  } catch {
    // A plain static server without the listing: offer the defaults by name.
    return DEFAULT_MODELS;
  }
}

async function fillModelChoices(): Promise<void> {
  const files = await listServedModels();
  ui.model.replaceChildren();
  for (const f of files) {
    const key = `url:${f}`;
    modelSources.set(key, () => fetchSafetensors(`weights/${encodeURIComponent(f)}`));
    ui.model.append(option(key, f.replace(/\.safetensors$/, '')));
  }
  if (!files.length) ui.model.append(option('', 'no model served: load a .safetensors file', true));
}

async function selectModel(key: string): Promise<void> {
  const load = modelSources.get(key);
  if (!load) return;
  clearError();
  setState('loading');
  status(`loading ${ui.model.selectedOptions[0]?.textContent ?? key}…`);
  try {
    const e = await ensureEngine();
    const file = await load();
    const next = modelFromFile(e, file);
    model?.release();
    model = next;
    modelKey = key;
    onModelChanged(model);
    status('');
    setState('ready');
  } catch (err) {
    const name = ui.model.selectedOptions[0]?.textContent ?? key;
    if (err instanceof DeviceLostError) forgetGpu();
    // A file that does not load leaves the menu; the menu goes back to the model still loaded.
    if (key.startsWith('file:')) {
      modelSources.delete(key);
      ui.model.querySelector(`option[value="${CSS.escape(key)}"]`)?.remove();
    }
    if (model) ui.model.value = modelKey;
    showError(`Could not load the model ${name}`, err);
  }
}

function onModelChanged(m: Model): void {
  const info = m.info;
  const [h, w] = info.inputSize;
  ui.modelInfo.textContent =
    `${info.architecture} · input ${w}×${h}${info.resize ? ` (resize ${info.resize}, centre crop)` : ''} · ${info.classes.length} classes` +
    (info.accuracy
      ? ` · test top-1 ${/^[0-9.]+$/.test(info.accuracy) && Number(info.accuracy) <= 1 ? `${(Number(info.accuracy) * 100).toFixed(1)}%` : info.accuracy}`
      : '');

  // Methods that do not apply to this model (CAM needs a GAP + linear head) stay listed, disabled.
  const current = ui.method.value;
  ui.method.replaceChildren(
    ...METHODS.map((me) =>
      option(me.name, me.supports && !me.supports(m) ? `${me.title} (not for this model)` : me.title, !!me.supports && !me.supports(m)),
    ),
  );
  const keep = METHODS.find((me) => me.name === current && (!me.supports || me.supports(m)));
  ui.method.value = keep ? keep.name : 'grad-cam';

  ui.layer.replaceChildren(...m.layerNames().map((n) => option(n, n)));
  ui.layer.value = m.defaultCamLayer;

  ui.target.replaceChildren(option('top1', 'top-1 prediction'), ...info.classes.map((c, i) => option(String(i), `${i}: ${c}`)));
  ui.target.value = 'top1';
  onMethodChanged();
  last = null;
  clearResult();
}

function currentMethod(): MethodEntry {
  return METHODS.find((m) => m.name === ui.method.value) ?? METHODS[0];
}

function onMethodChanged(): void {
  const m = currentMethod();
  ui.layer.disabled = !m.usesLayer;
  ui.layer.title = m.usesLayer ? '' : `${m.title} does not use a layer`;
  ui.masks.disabled = m.name !== 'rise';
}

// ---------------------------------------------------------------------------------------------
// Images

function selectSample(i: number): void {
  const s = generateSample(SPLIT_SEEDS.test, i);
  image = { rgb: { width: 64, height: 64, data: s.image }, name: `sample ${i}`, label: SYNTHETIC_CLASSES[s.label] };
  ui.samples.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.index === String(i))));
  onImageChanged();
}

function fillSamples(): void {
  for (let i = 0; i < SAMPLE_COUNT; i++) {
    const s = generateSample(SPLIT_SEEDS.test, i);
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.index = String(i);
    b.title = `synthetic test sample ${i}: ${SYNTHETIC_CLASSES[s.label]}`;
    const c = document.createElement('canvas');
    drawImage(c, { width: 64, height: 64, data: s.image });
    b.append(c, SYNTHETIC_CLASSES[s.label]);
    b.addEventListener('click', () => selectSample(i));
    ui.samples.append(b);
  }
}

async function loadImageFile(file: File): Promise<void> {
  clearError();
  try {
    image = { rgb: await decodeImageBlob(file, file.name), name: file.name };
    ui.samples.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', 'false'));
    onImageChanged();
  } catch (err) {
    showError(`Could not open ${file.name}`, err);
  }
}

async function loadModelFile(file: File): Promise<void> {
  const key = `file:${file.name}:${file.size}:${file.lastModified}`;
  if (!modelSources.has(key)) {
    modelSources.set(key, async () => parseSafetensors(new Uint8Array(await file.arrayBuffer()), file.name));
    ui.model.querySelector('option[value=""]')?.remove();
    ui.model.append(option(key, `${file.name} (from disk)`));
  }
  ui.model.value = key;
  await selectModel(key);
}

function onImageChanged(): void {
  if (!image) return;
  drawImage(ui.input, image.rgb);
  ui.inputCaption.textContent = `${image.name}${image.label ? ` (${image.label})` : ''}, ${image.rgb.width}×${image.rgb.height}`;
  last = null;
  clearResult();
  // A new picture makes the last result stale; the Run button follows what is loaded.
  const state = document.body.dataset.state as PageState;
  setState(state === 'done' ? 'ready' : state);
}

function clearResult(): void {
  const ctx = ui.heatmap.getContext('2d')!;
  ui.heatmap.width = VIEW;
  ui.heatmap.height = VIEW;
  ctx.clearRect(0, 0, VIEW, VIEW);
  ui.heatmapCaption.textContent = 'attribution map (press Run)';
  ui.legend.hidden = true;
  ui.top5.replaceChildren();
  ui.timing.textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Running a method

function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = Float32Array.from(logits, (v) => Math.exp(v - max));
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

function showTop5(probs: Float32Array, classes: string[], target: number): void {
  const order = Array.from(probs.keys())
    .sort((a, b) => probs[b] - probs[a])
    .slice(0, 5);
  ui.top5.replaceChildren(
    ...order.map((k) => {
      const li = document.createElement('li');
      if (k === target) li.className = 'target';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = classes[k] ?? `class ${k}`;
      name.title = `class ${k}${k === target ? ' (explained)' : ''}`;
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = `${(probs[k] * 100).toFixed(1)}%`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('i');
      fill.style.width = `${Math.max(0.5, probs[k] * 100)}%`;
      bar.append(fill);
      li.append(name, pct, bar);
      return li;
    }),
  );
}

function renderMap(): void {
  if (!last) return;
  const colormap = ui.colormap.value as ColormapName;
  if (last.kind === 'heatmap') {
    // A smooth view: the input bilinearly enlarged, the map bilinearly resized onto it.
    const s = VIEW / Math.max(last.base.width, last.base.height);
    const base = resizeImage(last.base, Math.round(last.base.width * s), Math.round(last.base.height * s));
    drawImage(ui.heatmap, overlayHeatmap(base, stretchToUnit(last.map), last.w, last.h, { colormap, alpha: 0.5 }));
    ui.heatmap.style.imageRendering = '';
    drawImage(
      ui.legendCanvas,
      applyColormap(
        Float32Array.from({ length: 140 }, (_, i) => i / 139),
        140,
        1,
        colormap,
        { range: [0, 1] },
      ),
    );
    ui.legend.hidden = false;
  } else {
    // Signed input gradients as RGB (grey = 0), pixel for pixel.
    drawImage(ui.heatmap, gradientToImage(last.map, last.c, last.h, last.w));
    ui.heatmap.style.imageRendering = 'pixelated';
    ui.legend.hidden = true;
  }
  ui.heatmapCaption.textContent = last.caption;
}

async function run(): Promise<void> {
  if (!image) return;
  clearError();
  setState('running');
  const method = currentMethod();
  const t0 = performance.now();
  try {
    const e = await ensureEngine();
    if (!model) await selectModel(modelKey || ui.model.value);
    const m = model;
    if (!m) return; // selectModel has shown why
    setState('running');
    const info = m.info;
    const [h, w] = info.inputSize;
    const prepared = preprocessForModel(image.rgb, { inputSize: [h, w], mean: info.mean, std: info.std, resize: info.resize });
    drawImage(ui.input, prepared.image);
    ui.inputCaption.textContent = `${image.name}${image.label ? ` (${image.label})` : ''}, as the model sees it (${w}×${h})`;
    const layer = method.usesLayer ? ui.layer.value : undefined;
    const target = ui.target.value === 'top1' ? 'top1' : Number(ui.target.value);
    const masks = Math.max(50, Math.round(Number(ui.masks.value) || 1000));

    const x = e.upload(prepared.chw, [1, 3, h, w], 'page input');
    try {
      status('forward pass…');
      const tf = performance.now();
      const probs = softmax(await m.logits(x));
      const forwardMs = performance.now() - tf;
      const top1 = probs.indexOf(Math.max(...probs));
      showTop5(probs, info.classes, target === 'top1' ? top1 : target);

      status(`${method.title}…`);
      const tm = performance.now();
      const attribution = await method.run(m, x, {
        target,
        layer,
        masks,
        onProgress: (done, total) => status(`${method.title}: ${done} / ${total} masks`),
      });
      let map: Float32Array;
      try {
        map = await attribution.maps.readF32();
      } finally {
        e.release(attribution.maps);
      }
      const methodMs = performance.now() - tm;
      const [, c, mh, mw] = attribution.maps.shape;
      const t = attribution.targets[0];
      last = {
        kind: attribution.kind,
        map,
        c,
        h: mh,
        w: mw,
        base: prepared.image,
        caption: `${method.title} for “${info.classes[t] ?? t}”${attribution.layer ? ` at ${attribution.layer}` : ''}`,
      };
      renderMap();
      runs++;
      document.body.dataset.runs = String(runs);
      ui.timing.textContent =
        `forward ${ms(forwardMs)} ms · ${method.name} ${ms(methodMs)} ms · total ${ms(performance.now() - t0)} ms` +
        (runs === 1 ? ' (first run includes compiling the GPU kernels)' : '');
      status('');
      setState('done');
    } finally {
      e.release(x);
    }
  } catch (err) {
    if (err instanceof DeviceLostError) forgetGpu();
    showError(`${method.title} failed`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

async function main(): Promise<void> {
  setState('starting');
  ui.colormap.replaceChildren(...COLORMAP_NAMES.map((n) => option(n, n)));
  ui.method.replaceChildren(...METHODS.map((m) => option(m.name, m.title)));
  ui.method.value = 'grad-cam';
  onMethodChanged();
  fillSamples();
  selectSample(0);

  ui.model.addEventListener('change', () => void selectModel(ui.model.value));
  ui.modelFile.addEventListener('change', () => {
    const f = ui.modelFile.files?.[0];
    if (f) void loadModelFile(f);
    ui.modelFile.value = '';
  });
  ui.imageFile.addEventListener('change', () => {
    const f = ui.imageFile.files?.[0];
    if (f) void loadImageFile(f);
    ui.imageFile.value = '';
  });
  ui.method.addEventListener('change', onMethodChanged);
  ui.colormap.addEventListener('change', renderMap);
  ui.run.addEventListener('click', () => void run());
  // Drop an image or a .safetensors file anywhere on the page.
  document.addEventListener('dragover', (ev) => ev.preventDefault());
  document.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const f = ev.dataTransfer?.files[0];
    if (f) void (f.name.endsWith('.safetensors') ? loadModelFile(f) : loadImageFile(f));
  });
  window.addEventListener('unhandledrejection', (ev) => showError('Unexpected error', ev.reason));

  try {
    await ensureEngine();
  } catch (err) {
    ui.adapter.textContent = 'no WebGPU';
    showError('WebGPU is not available', err);
    return;
  }
  await fillModelChoices();
  if (ui.model.value) await selectModel(ui.model.value);
  else {
    status('Load a .safetensors file to start.');
    setState('ready');
  }
}

void main();
