/**
 * The bench scripts' command lines: node's parseArgs, plus what a person expects of one. `-h`/`--help`
 * prints the script's usage; an unknown flag, a stray argument or a malformed number is one line naming
 * it (exit status 2) before anything is loaded or measured, not a stack trace or a NaN run.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs returns for these options (typed per flag). */
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

/** Parses `process.argv` against `options`; prints `usage` and exits on --help. */
export function benchArgs<O extends Options>(script: string, usage: string, options: O): Values<O> {
  let values: Record<string, unknown> = {};
  try {
    values = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    usageError(script, (err as Error).message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Values<O>;
}

/** A bad flag: says which and how, then stops. */
export function usageError(script: string, message: string): never {
  console.error(`${script}: ${message} (--help lists the flags)`);
  process.exit(2);
}

/** A flag's value as an integer >= `min` (default 1), or a usage error naming the flag. */
export function intFlag(script: string, flag: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < min) {
    usageError(script, `${flag} needs an integer >= ${min}, got ${value}`);
  }
  return n;
}

/** A flag's value as a finite number >= 0, or a usage error naming the flag. */
export function nonNegativeFlag(script: string, flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    usageError(script, `${flag} needs a number >= 0, got ${value}`);
  }
  return n;
}
