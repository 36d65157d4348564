/**
 * Option records several commands share, so `--weights` or `--batch` reads, checks and documents the
 * same everywhere. A command spreads what it needs into its table: `{ weights: WEIGHTS, ... }`.
 */
import { join } from 'node:path';
import type { OptionSpec } from './options.js';
import { UsageError } from './errors.js';

export const WEIGHTS = {
  type: 'file',
  required: true,
  help: 'model weights (.safetensors, from tools/export_weights.py or weights/)',
} as const satisfies OptionSpec;

/** Opt-out of the load-time check for NaN and infinite parameters (graph/weights.ts). */
export const ALLOW_NON_FINITE = {
  type: 'flag',
  help: 'load weights that hold NaN or infinite values (refused by default: every output would be meaningless)',
} as const satisfies OptionSpec;

export const DATA = {
  type: 'file-or-dir',
  required: true,
  help: 'labelled images: a safetensors file (images U8 [N,H,W,3], labels) or a folder with a sub-folder per class',
} as const satisfies OptionSpec;

export const FORCE = { type: 'flag', help: 'overwrite existing output files (never done otherwise)' } as const satisfies OptionSpec;

/**
 * Images per forward pass, at most: the run takes fewer where that many would not fit the adapter's
 * bindings (graph/pass-size.ts); past 1024 a batch could not fit anywhere.
 */
export function batchOption(fallback: number, help = 'images per forward pass') {
  return {
    type: 'int',
    arg: 'N',
    min: 1,
    max: 1024,
    default: fallback,
    help: `${help}, at most (fewer where they would not fit the GPU)`,
  } as const satisfies OptionSpec;
}

export function outDir(command: string, help = 'output folder') {
  return { type: 'out-dir', default: join('out', command), help } as const satisfies OptionSpec;
}

/** "top1", a class index or a class name; the name and the index range are checked once the model is loaded. */
export const TARGET = {
  type: 'custom',
  arg: 'CLASS',
  help: 'top1 (default), a class index, or a class name',
  parse: (text: string, flag: string): string => {
    if (/^[-+]\d+$/.test(text.trim()))
      throw new UsageError(`${flag} ${text} is not a class: give top1, an index 0, 1, ..., or a class name`);
    if (!text.trim()) throw new UsageError(`${flag} is empty: give top1, a class index or a class name`);
    return text;
  },
} as const satisfies OptionSpec;

/** "start:end" (end exclusive), checked for form here and against the data by parseRange once it is opened. */
export const RANGE = {
  type: 'custom',
  arg: 'A:B',
  help: 'images A..B-1 only (e.g. 0:500); either side may be left out',
  parse: (text: string, flag: string): string => {
    const m = /^(\d*):(\d*)$/.exec(text);
    if (!m) throw new UsageError(`${flag} must look like START:END (e.g. 0:500), got "${text}"`);
    if (m[1] && m[2] && Number(m[1]) >= Number(m[2])) throw new UsageError(`${flag} ${text} is empty: START must be below END`);
    return text;
  },
} as const satisfies OptionSpec;

export const LIMIT = { type: 'int', arg: 'N', min: 1, help: 'use only the first N images' } as const satisfies OptionSpec;

/** A layer by its PyTorch module name; the name also becomes part of output file names, so no path characters. */
export const LAYER = {
  type: 'string',
  arg: 'NAME',
  pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/,
  patternText: 'a layer name such as layer4 or features.29 (letters, digits, _ . -)',
  help: 'a layer (PyTorch module name)',
} as const satisfies OptionSpec;
