import { existsSync } from 'node:fs';
import type { Engine } from '../gpu/engine.js';
import { modelFromFile, type Model } from '../graph/model.js';
import type { WeightCheckOptions } from '../graph/weights.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { UsageError } from './errors.js';

/** Loads a weights file for a command; a missing file says where models come from. */
export async function loadModelFile(engine: Engine, path: string, checks: WeightCheckOptions = {}): Promise<Model> {
  if (!existsSync(path)) {
    throw new UsageError(
      `weights file "${path}" does not exist. Export one with tools/export_weights.py (see README "Weights"), ` +
        'or use an embedded default model from weights/.',
    );
  }
  return modelFromFile(engine, await readSafetensorsFile(path), checks);
}

/** "top1", a class index, or a class name (case-insensitive) -> 'top1' | index. */
export function parseTarget(text: string | undefined, classes: string[]): number | 'top1' {
  if (text === undefined || text === 'top1') return 'top1';
  if (/^\d+$/.test(text)) {
    const i = Number(text);
    if (i >= classes.length) throw new UsageError(`--target ${i} is out of range: this model has classes 0..${classes.length - 1}`);
    return i;
  }
  const i = classes.findIndex((c) => c.toLowerCase() === text.toLowerCase());
  if (i < 0) {
    const near = classes.filter((c) => c.toLowerCase().includes(text.toLowerCase())).slice(0, 8);
    throw new UsageError(
      `--target "${text}" is not a class of this model. Use top1, an index 0..${classes.length - 1}, or a class name` +
        (near.length ? ` such as ${near.join(', ')}` : classes.length <= 20 ? `: ${classes.join(', ')}` : ''),
    );
  }
  return i;
}
