import type { Engine } from '../gpu/engine.js';
import { probedModel } from '../graph/finite-probe.js';
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
  /**
   * Load weights holding NaN or infinity, or whose activations overflow float32 on a test input
   * (refused by default: every output would be meaningless).
   */
  allowNonFinite?: boolean;
}

/** Names of the models shipped in the package's `weights/` folder (Node's `loadModel` accepts them as sources). */
export const EMBEDDED_MODELS = ['default-resnet', 'default-vgg'] as const;

/**
 * Builds a model from a parsed safetensors file on the given or the shared engine, with the same checks as
 * the CLI: every parameter finite, and no layer overflowing float32 on a test input (one forward pass).
 */
export async function modelFromSafetensors(file: SafetensorsFile, options: LoadModelOptions = {}): Promise<Model> {
  const checks = { allowNonFinite: options.allowNonFinite };
  return probedModel(await buildOnEngine(options.engine, (engine) => modelFromFile(engine, file, checks)), options.allowNonFinite);
}

/** The tail of the error for a source of the wrong kind: what each environment accepts. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
