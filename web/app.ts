/**
 * The LayerTracer page: load an image, pick model / method / layer / class, see the heatmap; every
 * method side by side; the LayerTracer strip for models with class means. Plain DOM, no framework;
 * everything runs in the browser on navigator.gpu through the library's public API (src/browser.ts).
 *
 * The parts: state.ts (what the page knows), models.ts (listing and loading models, their menus),
 * run.ts (running methods with progress), render.ts (drawing results), dom.ts (elements, helpers).
 * This file wires them to the controls.
 *
 * For scripted use (test/browser/page.test.ts) <body data-state> is one of starting, loading, ready,
 * running, done, error, and data-runs counts the finished runs.
 */
import {
  COLORMAP_NAMES,
  DeviceLostError,
  drawImage,
  generateSample,
  METHODS,
  methodGuide,
  readImage,
  SPLIT_SEEDS,
  SYNTHETIC_CLASSES,
  SYNTHETIC_SIZE,
  type MethodEntry,
  type RgbImage,
} from '../src/browser.js';
import { milliseconds, option, pageElements, type Ui } from './dom.js';
import { addModelFile, describeModel, fillModelMenu, fillModelMenus, loadSource, servedModels } from './models.js';
import { addGridCell, clearResult, downloadCanvas, drawResult, drawStrip, showTop5 } from './render.js';
import { AUTO_MASK_SECONDS, masksFor, runAllMethods, runLayerTracer, runMethod, type ProgressReport, type RunChoice } from './run.js';
import { createPageState, type Phase, type PageState } from './state.js';

const SAMPLE_COUNT = 8;

const ENABLE_WEBGPU_HELP = [
  'This page computes attribution maps on the GPU with WebGPU. To enable it:',
  '• Chrome / Edge 113+ on Windows, macOS and ChromeOS have it on by default: update the browser.',
  '• Chrome / Chromium on Linux: open chrome://flags/#enable-unsafe-webgpu, set it to Enabled and relaunch',
  '  (or start it with --enable-unsafe-webgpu; add --enable-features=Vulkan if it still finds no adapter).',
  '• Firefox: on by default on Windows (141+); elsewhere set dom.webgpu.enabled to true in about:config.',
  '• Safari: Safari 26+, or Technology Preview with the WebGPU feature flag.',
].join('\n');

// ---------------------------------------------------------------------------------------------
// Phase, status, errors

function setPhase(ui: Ui, state: PageState, phase: Phase): void {
  state.phase = phase;
  document.body.dataset.state = phase;
  const busy = phase === 'starting' || phase === 'loading' || phase === 'running';
  const ready = !busy && !!state.loaded && !!state.image;
  ui.run.disabled = !ready;
  ui.runAll.disabled = !ready;
  ui.runTrace.disabled = !ready || !state.loaded?.means;
  ui.runTrace.title = state.loaded && !state.loaded.means ? 'this model has no E2CM class means' : '';
  // The model must not change under a running method (it would be released mid-run).
  ui.model.disabled = busy;
  ui.modelFile.disabled = busy;
  if (!busy) ui.progress.hidden = true;
}

function status(ui: Ui, text: string): void {
  ui.status.textContent = text;
}

function progressReporter(ui: Ui): ProgressReport {
  return (done, total, note) => {
    ui.progress.hidden = false;
    ui.progress.max = Math.max(total, 1e-9);
    ui.progress.value = done;
    status(ui, note);
  };
}

function showError(ui: Ui, state: PageState, what: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(e);
  if (err instanceof DeviceLostError) state.loaded = null; // nothing on the GPU survives: reload on the next action
  ui.error.replaceChildren();
  const title = document.createElement('strong');
  title.textContent = what;
  ui.error.append(title, `\n${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`);
  ui.error.classList.add('shown');
  status(ui, '');
  setPhase(ui, state, 'error');
}

function clearError(ui: Ui): void {
  ui.error.classList.remove('shown');
  ui.error.replaceChildren();
}

function countRun(state: PageState): void {
  state.runs++;
  document.body.dataset.runs = String(state.runs);
}

// ---------------------------------------------------------------------------------------------
// Models

async function selectModel(ui: Ui, state: PageState, key: string): Promise<void> {
  const source = state.sources.get(key);
  if (!source) return;
  clearError(ui);
  setPhase(ui, state, 'loading');
  status(ui, `loading ${source.label}…`);
  try {
    const next = await loadSource(state, key);
    const previous = state.loaded;
    state.loaded = next;
    previous?.model.release();
    const a = next.model.engine.adapter;
    ui.adapter.textContent = `GPU: ${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || a.description || 'unknown adapter'}${a.isSoftware ? ' (software)' : ''}`;
    ui.modelInfo.textContent = describeModel(next.model, !!next.means);
    fillModelMenus(ui, next.model);
    onMethodChanged(ui);
    forgetResults(ui, state);
    status(ui, '');
    setPhase(ui, state, 'ready');
  } catch (err) {
    // A file that does not load leaves the menu; the menu goes back to the model still loaded.
    if (key.startsWith('file:')) {
      state.sources.delete(key);
      ui.model.querySelector(`option[value="${CSS.escape(key)}"]`)?.remove();
    }
    if (state.loaded) ui.model.value = state.loaded.key;
    showError(ui, state, `Could not load the model ${source.label}`, err);
  }
}

function currentMethod(ui: Ui): MethodEntry {
  return METHODS.find((m) => m.name === ui.method.value) ?? METHODS[0];
}

function onMethodChanged(ui: Ui): void {
  const m = currentMethod(ui);
  ui.layer.disabled = !m.usesLayer;
  ui.layer.title = m.usesLayer ? '' : `${m.title} does not use a layer`;
  ui.methodHelp.textContent = methodGuide(m.name);
}

// ---------------------------------------------------------------------------------------------
// Images

function selectSample(ui: Ui, state: PageState, i: number): void {
  const s = generateSample(SPLIT_SEEDS.test, i);
  state.image = {
    rgb: { width: SYNTHETIC_SIZE, height: SYNTHETIC_SIZE, data: s.image },
    name: `sample ${i}`,
    label: SYNTHETIC_CLASSES[s.label],
  };
  ui.samples.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.index === String(i))));
  onImageChanged(ui, state);
}

function fillSamples(ui: Ui, state: PageState): void {
  for (let i = 0; i < SAMPLE_COUNT; i++) {
    const s = generateSample(SPLIT_SEEDS.test, i);
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.index = String(i);
    b.title = `synthetic test sample ${i}: ${SYNTHETIC_CLASSES[s.label]}`;
    const c = document.createElement('canvas');
    drawImage(c, { width: SYNTHETIC_SIZE, height: SYNTHETIC_SIZE, data: s.image });
    b.append(c, SYNTHETIC_CLASSES[s.label]);
    b.addEventListener('click', () => selectSample(ui, state, i));
    ui.samples.append(b);
  }
}

async function openImage(ui: Ui, state: PageState, file: File): Promise<void> {
  clearError(ui);
  try {
    state.image = { rgb: await readImage(file), name: file.name };
    ui.samples.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', 'false'));
    onImageChanged(ui, state);
  } catch (err) {
    showError(ui, state, `Could not open ${file.name}`, err);
  }
}

function onImageChanged(ui: Ui, state: PageState): void {
  if (!state.image) return;
  const { rgb, name, label } = state.image;
  drawImage(ui.input, rgb);
  ui.inputCaption.textContent = `${name}${label ? ` (${label})` : ''}, ${rgb.width}×${rgb.height}`;
  forgetResults(ui, state);
  // A new picture makes the last result stale; the buttons follow what is loaded.
  setPhase(ui, state, state.phase === 'done' || state.phase === 'error' ? 'ready' : state.phase);
}

function forgetResults(ui: Ui, state: PageState): void {
  state.result = null;
  clearResult(ui);
  ui.gridSection.hidden = true;
  ui.grid.replaceChildren();
  ui.traceSection.hidden = true;
  ui.trace.replaceChildren();
}

// ---------------------------------------------------------------------------------------------
// Running

function runChoice(ui: Ui): RunChoice {
  return {
    method: currentMethod(ui),
    layer: ui.layer.value,
    target: ui.target.value === 'top1' ? 'top1' : Number(ui.target.value),
    masks: ui.masks.value.trim() === '' ? 'auto' : Math.max(50, Math.round(Number(ui.masks.value) || 1000)),
  };
}

/** Runs `job` with the page busy; errors land in the error box. */
async function busy(ui: Ui, state: PageState, what: string, job: () => Promise<void>): Promise<void> {
  if (!state.image) return;
  clearError(ui);
  try {
    if (!state.loaded) await selectModel(ui, state, ui.model.value);
    if (!state.loaded) return; // selectModel has shown why
    setPhase(ui, state, 'running');
    await job();
    countRun(state);
    status(ui, '');
    setPhase(ui, state, 'done');
  } catch (err) {
    showError(ui, state, `${what} failed`, err);
  }
}

function showModelView(ui: Ui, state: PageState, input: RgbImage): void {
  const [h, w] = state.loaded!.model.info.inputSize;
  drawImage(ui.input, input);
  ui.inputCaption.textContent = `${state.image!.name}${state.image!.label ? ` (${state.image!.label})` : ''}, as the model sees it (${w}×${h})`;
}

function runOne(ui: Ui, state: PageState): Promise<void> {
  const choice = runChoice(ui);
  return busy(ui, state, choice.method.title, async () => {
    const { result, ms } = await runMethod(state.loaded!, state.image!, choice, progressReporter(ui));
    state.result = result;
    showModelView(ui, state, result.input);
    showTop5(ui, result.predictions, result.target);
    drawResult(ui, result, caption(choice.method, result));
    ui.timing.textContent = `${choice.method.name} ${milliseconds(ms)}${state.runs === 0 ? ' (the first run includes compiling the GPU kernels)' : ''}`;
  });
}

const caption = (method: MethodEntry, r: { targetLabel: string; layer?: string }) =>
  `${method.title} for “${r.targetLabel}”${r.layer ? ` at ${r.layer}` : ''}`;

function runGrid(ui: Ui, state: PageState): Promise<void> {
  const choice = runChoice(ui);
  ui.grid.replaceChildren();
  ui.gridSection.hidden = false;
  ui.gridCaption.textContent = 'every method on this image, one after the other…';
  return busy(ui, state, 'All methods', async () => {
    const t0 = performance.now();
    let first = true;
    const count = await runAllMethods(state.loaded!, state.image!, choice, progressReporter(ui), (method, { result, ms }) => {
      if (first) {
        first = false;
        showModelView(ui, state, result.input);
        showTop5(ui, result.predictions, result.target);
      }
      addGridCell(ui, result, method.title, ms, () => {
        state.result = result;
        drawResult(ui, result, caption(method, result));
      });
    });
    const masks = await masksFor(state.loaded!, choice);
    ui.gridCaption.textContent = `${count} methods in ${milliseconds(performance.now() - t0)} · click one to see it large · CAM layer ${choice.layer} · RISE ${masks} masks`;
  });
}

function runStrip(ui: Ui, state: PageState): Promise<void> {
  const choice = runChoice(ui);
  return busy(ui, state, 'LayerTracer', async () => {
    const strip = await runLayerTracer(state.loaded!, state.image!, choice, progressReporter(ui));
    ui.traceSection.hidden = false;
    const [lo, hi] = drawStrip(ui, strip.input, strip.tiles);
    ui.traceCaption.textContent =
      `LayerTracer for “${strip.targetLabel}”: one map per E2CM exit from the same ${strip.masks} masks, on one colour scale ` +
      `(${lo.toPrecision(2)} to ${hi.toPrecision(2)}); ` +
      `${strip.exitLayer ? `framed: ${strip.exitLayer}, where E2CM exits` : 'E2CM does not exit early on this image'} · ${milliseconds(strip.ms)}`;
  });
}

function redraw(ui: Ui, state: PageState): void {
  if (state.result) drawResult(ui, state.result, ui.heatmapCaption.textContent ?? '');
  else ui.alphaValue.textContent = `${Math.round(Number(ui.alpha.value) * 100)}%`;
}

async function download(ui: Ui, state: PageState): Promise<void> {
  if (!state.result) return;
  const stem = (state.image?.name ?? 'image').replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '-');
  await downloadCanvas(ui.heatmap, `layertracer-${stem}-${state.result.method}.png`);
}

// ---------------------------------------------------------------------------------------------
// Wiring

async function main(): Promise<void> {
  const ui = pageElements();
  const state = createPageState();
  setPhase(ui, state, 'starting');
  ui.colormap.replaceChildren(...COLORMAP_NAMES.filter((n) => n !== 'bwr' && n !== 'gray').map((n) => option(n, n)));
  ui.method.replaceChildren(...METHODS.map((m) => option(m.name, m.title)));
  ui.method.value = 'grad-cam';
  onMethodChanged(ui);
  ui.masks.placeholder = 'auto';
  ui.masks.title = `masked forward passes: fewer is faster, more is smoother; empty: as many as fit ${AUTO_MASK_SECONDS} s here`;
  fillSamples(ui, state);
  selectSample(ui, state, 0);

  ui.model.addEventListener('change', () => void selectModel(ui, state, ui.model.value));
  ui.modelFile.addEventListener('change', () => {
    const f = ui.modelFile.files?.[0];
    if (f) {
      ui.model.value = addModelFile(ui, state, f);
      void selectModel(ui, state, ui.model.value);
    }
    ui.modelFile.value = '';
  });
  ui.imageFile.addEventListener('change', () => {
    const f = ui.imageFile.files?.[0];
    if (f) void openImage(ui, state, f);
    ui.imageFile.value = '';
  });
  ui.method.addEventListener('change', () => onMethodChanged(ui));
  ui.colormap.addEventListener('change', () => redraw(ui, state));
  ui.alpha.addEventListener('input', () => redraw(ui, state));
  ui.run.addEventListener('click', () => void runOne(ui, state));
  ui.runAll.addEventListener('click', () => void runGrid(ui, state));
  ui.runTrace.addEventListener('click', () => void runStrip(ui, state));
  ui.download.addEventListener('click', () => void download(ui, state).catch((err) => showError(ui, state, 'Download failed', err)));
  // Drop an image or a .safetensors file anywhere on the page.
  document.addEventListener('dragover', (ev) => ev.preventDefault());
  document.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const f = ev.dataTransfer?.files[0];
    if (!f) return;
    if (f.name.endsWith('.safetensors')) {
      ui.model.value = addModelFile(ui, state, f);
      void selectModel(ui, state, ui.model.value);
    } else void openImage(ui, state, f);
  });
  window.addEventListener('unhandledrejection', (ev) => showError(ui, state, 'Unexpected error', ev.reason));

  if (!window.isSecureContext) {
    ui.adapter.textContent = 'no WebGPU';
    return showError(
      ui,
      state,
      'WebGPU is not available',
      new Error(
        `WebGPU needs a secure context: open this page over https, or from http://localhost / http://127.0.0.1 (this is ${location.origin}).`,
      ),
    );
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    ui.adapter.textContent = 'no WebGPU';
    return showError(
      ui,
      state,
      'WebGPU is not available',
      new Error(`This browser has no WebGPU (navigator.gpu is missing).\n\n${ENABLE_WEBGPU_HELP}`),
    );
  }
  state.sources = await servedModels();
  fillModelMenu(ui, state);
  if (ui.model.value) {
    await selectModel(ui, state, ui.model.value);
    // navigator.gpu is there but gives no adapter (blocklisted GPU, WebGPU switched off).
    if (!state.loaded && /adapter/i.test(ui.error.textContent ?? '')) ui.error.append(`\n\n${ENABLE_WEBGPU_HELP}`);
  } else {
    status(ui, 'Load a .safetensors file to start.');
    setPhase(ui, state, 'ready');
  }
}

void main();
