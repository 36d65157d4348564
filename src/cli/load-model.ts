import { existsSync } from 'node:fs';
import type { Engine } from '../gpu/engine.js';
import { modelFromFile, type Model } from '../graph/model.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { resolveClassChoice } from '../api/target.js';
import { UsageError } from './errors.js';

/** Loads a weights file for a command; a missing file says where models come from. */
export async function loadModelFile(engine: Engine, path: string): Promise<Model> {
  if (!existsSync(path)) {
    throw new UsageError(
      `weights file "${path}" does not exist. Export one with tools/export_weights.py (see README "Weights"), ` +
        'or use an embedded default model from weights/.',
    );
  }
  return modelFromFile(engine, await readSafetensorsFile(path));
}

/** "top1", a class index, or a class name (case-insensitive) -> 'top1' | index. */
export function parseTarget(text: string | undefined, classes: string[]): number | 'top1' {
  try {
    return resolveClassChoice(text, classes, '--target');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
