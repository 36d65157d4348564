import { existsSync } from 'node:fs';
import type { Engine } from '../gpu/engine.js';
import { modelFromFile, type Model } from '../graph/model.js';
import type { WeightCheckOptions } from '../graph/weights.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { resolveClassChoice } from '../api/target.js';
import { UsageError } from './errors.js';
import { probedModel } from '../graph/finite-probe.js';
import { MAX_WEIGHTS_BYTES } from '../io/limits.js';

export { MAX_WEIGHTS_BYTES };

/** Loads a weights file for a command; a missing file says where models come from. */
export async function loadModelFile(engine: Engine, path: string, checks: WeightCheckOptions = {}): Promise<Model> {
  if (!existsSync(path)) {
    throw new UsageError(
      `weights file "${path}" does not exist. Export one with tools/export_weights.py (see README "Weights"), ` +
        'or use an embedded default model from weights/.',
    );
  }
  return probedModel(
    modelFromFile(engine, await readSafetensorsFile(path, { maxBytes: MAX_WEIGHTS_BYTES }), checks),
    checks.allowNonFinite,
  );
}

/** "top1", a class index, or a class name (case-insensitive) -> 'top1' | index. */
export function parseTarget(text: string | undefined, classes: string[]): number | 'top1' {
  try {
    return resolveClassChoice(text, classes, '--target');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
