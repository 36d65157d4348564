/**
 * The model side of the page: which models the server offers (weights only; class-means files are
 * paired with their model, never offered as one), loading one, and the menus that depend on it
 * (methods, layers, classes).
 */
import { camLayers, EMBEDDED_MODELS, loadClassMeans, loadModel, METHODS, type Model } from '../src/browser.js';
import { option, type Ui } from './dom.js';
import type { LoadedModel, ModelSource, PageState } from './state.js';

interface ServedFile {
  file: string;
  kind?: string;
  means?: string;
}

const url = (file: string) => `weights/${encodeURIComponent(file)}`;

/**
 * The server's listing (web/serve.mjs: weights/index.json); a plain static server has none, and then
 * the embedded defaults are offered by name with their class means by the naming convention.
 */
export async function servedModels(): Promise<Map<string, ModelSource>> {
  let files: ServedFile[];
  try {
    const r = await fetch('weights/index.json', { cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    files = ((await r.json()) as { models: ServedFile[] }).models;
  } catch {
    files = EMBEDDED_MODELS.map((m) => ({ file: `${m}.safetensors`, kind: 'weights', means: `${m}.means.safetensors` }));
  }
  const defaults = EMBEDDED_MODELS.map((m) => `${m}.safetensors`);
  const weights = files.filter((f) => (f.kind ?? 'weights') === 'weights' && !f.file.endsWith('.means.safetensors'));
  // The embedded defaults first, the rest in the server's order.
  weights.sort((a, b) => rank(defaults, a.file) - rank(defaults, b.file));
  return new Map(
    weights.map((f) => [
      `url:${f.file}`,
      { label: f.file.replace(/\.safetensors$/, ''), weights: url(f.file), ...(f.means ? { means: url(f.means) } : {}) },
    ]),
  );
}

function rank(order: string[], file: string): number {
  const i = order.indexOf(file);
  return i < 0 ? order.length : i;
}

export function fillModelMenu(ui: Ui, state: PageState): void {
  ui.model.replaceChildren(...[...state.sources].map(([key, s]) => option(key, s.label)));
  if (!state.sources.size) ui.model.append(option('', 'no model served: load a .safetensors file', true));
}

/** A .safetensors file from disk joins the menu (a class-means file is refused when it loads). */
export function addModelFile(ui: Ui, state: PageState, file: File): string {
  const key = `file:${file.name}:${file.size}:${file.lastModified}`;
  if (!state.sources.has(key)) {
    state.sources.set(key, { label: `${file.name} (from disk)`, weights: file });
    ui.model.querySelector('option[value=""]')?.remove();
    ui.model.append(option(key, `${file.name} (from disk)`));
  }
  return key;
}

/**
 * Loads the weights (and class means, when the model has them). The previous model is released only
 * after the new one loaded, so both share the GPU engine and a failed load leaves the old one usable.
 */
export async function loadSource(state: PageState, key: string): Promise<LoadedModel> {
  const source = state.sources.get(key);
  if (!source) throw new Error(`no model "${key}" in the menu`);
  const model = await loadModel(source.weights);
  let means = null;
  if (source.means) {
    try {
      means = await loadClassMeans(source.means);
    } catch (err) {
      // The map methods work without class means; only the LayerTracer strip needs them.
      console.warn(`class means for ${source.label} did not load; the LayerTracer strip is off: ${(err as Error).message}`);
    }
  }
  return { key, model, means };
}

/** "cifar_resnet8 · input 64×64 · 10 classes · test top-1 99.6%". */
export function describeModel(m: Model, hasMeans: boolean): string {
  const info = m.info;
  const [h, w] = info.inputSize;
  const accuracy = info.accuracy
    ? ` · test top-1 ${/^[0-9.]+$/.test(info.accuracy) && Number(info.accuracy) <= 1 ? `${(Number(info.accuracy) * 100).toFixed(1)}%` : info.accuracy}`
    : '';
  return (
    `${info.architecture} · input ${w}×${h}${info.resize ? ` (resize ${info.resize}, centre crop)` : ''} · ${info.classes.length} classes` +
    accuracy +
    (hasMeans ? ' · E2CM class means' : '')
  );
}

/** Methods (those that do not apply stay listed, disabled), spatial layers only, and the classes. */
export function fillModelMenus(ui: Ui, m: Model): void {
  const current = ui.method.value;
  ui.method.replaceChildren(
    ...METHODS.map((me) => {
      const unsupported = !!me.supports && !me.supports(m);
      return option(me.name, unsupported ? `${me.title} (not for this model)` : me.title, unsupported);
    }),
  );
  const keep = METHODS.find((me) => me.name === current && (!me.supports || me.supports(m)));
  ui.method.value = keep ? keep.name : 'grad-cam';

  const layers = camLayers(m);
  ui.layer.replaceChildren(...layers.map((l) => option(l.name, l.aliases.length ? `${l.name} (= ${l.aliases.join(', ')})` : l.name)));
  const fallback = layers.find((l) => l.name === m.defaultCamLayer || l.aliases.includes(m.defaultCamLayer));
  if (fallback) ui.layer.value = fallback.name;

  ui.target.replaceChildren(option('top1', 'top-1 prediction'), ...m.info.classes.map((c, i) => option(String(i), `${i}: ${c}`)));
  ui.target.value = 'top1';
}
