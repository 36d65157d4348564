import type { Engine } from '../gpu/engine.js';
import { modelFromFile, type Model } from '../graph/model.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import { buildOnEngine } from './engine-lease.js';

/** Options of `loadModel`. */
export interface LoadModelOptions {
  /**
   * The engine to build the model on; the caller keeps owning it. Default: one engine shared by every
   * model loaded without one, destroyed when the last of them is released.
   */
  engine?: Engine;
}

/** Names of the models shipped in the package's `weights/` folder (Node's `loadModel` accepts them as sources). */
export const EMBEDDED_MODELS = ['default-resnet', 'default-vgg'] as const;

/** Builds a model from a parsed safetensors file on the given or the shared engine. */
export function modelFromSafetensors(file: SafetensorsFile, options: LoadModelOptions = {}): Promise<Model> {
  return buildOnEngine(options.engine, (engine) => modelFromFile(engine, file));
}

/** The tail of the error for a source of the wrong kind: what each environment accepts. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
