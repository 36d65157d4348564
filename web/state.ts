/**
 * Everything the page knows, in one object created by app.ts and passed to the parts that need it:
 * which models can be loaded and which is, the picture, the last result, and the page's phase. No
 * part keeps state of its own.
 */
import type { ClassMeans, Explanation, Model, RgbImage } from '../src/browser.js';

/** What the page is doing; mirrored to <body data-state> for scripts (test/browser/page.test.ts). */
export type Phase = 'starting' | 'loading' | 'ready' | 'running' | 'done' | 'error';

/** A model the menu offers: how to load its weights and, where it has them, its E2CM class means. */
export interface ModelSource {
  label: string;
  weights: string | Blob;
  means?: string | Blob;
}

export interface LoadedModel {
  key: string;
  model: Model;
  /** Class means for the LayerTracer strip; null when the model has none. */
  means: ClassMeans | null;
  /** RISE masks that fit the page's time budget on this model and adapter, measured on first use. */
  autoMasks?: number;
}

export interface PageImage {
  rgb: RgbImage;
  name: string;
  /** Ground truth of a built-in sample. */
  label?: string;
}

export interface PageState {
  phase: Phase;
  sources: Map<string, ModelSource>;
  loaded: LoadedModel | null;
  image: PageImage | null;
  /** The last single-method result, kept so opacity and colormap changes redraw without a run. */
  result: Explanation | null;
  /** Finished runs (single, grid or strip), mirrored to <body data-runs>. */
  runs: number;
}

export function createPageState(): PageState {
  return { phase: 'starting', sources: new Map(), loaded: null, image: null, result: null, runs: 0 };
}
