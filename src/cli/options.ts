/**
 * One declarative option schema per command: the parser, the `--help` text and the bad-input tests all
 * read the same record, so an option cannot be documented one way and parsed another.
 *
 * Adding an option is one line in the command's `options` record, for example
 *
 *     samples: { type: 'int', arg: 'N', min: 1, max: 10_000, default: 50, help: 'SmoothGrad samples' },
 *
 * and its value arrives typed in the command's `run(values)` as `values.samples` (a number here). The
 * default is appended to the help line by the generator; never write it into `help` as well.
 *
 * Types (every value is checked before anything loads or writes; a number is never NaN):
 *   flag          --x (boolean, false when absent)
 *   string        any text; `pattern` restricts it
 *   int, number   finite decimal numbers; `min`/`max` inclusive, `above`/`below` exclusive. A negative
 *                 number is a value, not an option: `--seed -3` works
 *   enum          one of `values`
 *   index-list    0,5,7 or ranges 0-7 (non-negative integers, duplicates dropped, order kept)
 *   number-list   comma-separated numbers; `min`/`max`/`above`/`below` apply to each
 *   string-list   comma-separated names; `values` restricts them
 *   file          an existing regular file (never a FIFO or device, which would block a read)
 *   file-or-dir   an existing regular file or folder
 *   out-dir       the command's output folder, written through a staging folder (see output-stage.ts)
 *   out-file      the command's single output file, the same way
 *   custom        `parse(text, flag)` returns the value or throws a UsageError
 * Modifiers: `required`, `multiple` (repeatable; the value is an array), `default`, `short` (one letter),
 * `arg` (the placeholder shown in --help: FILE, N, NAME). Mutually exclusive options are listed per
 * command in `exclusive`.
 */
import { UsageError } from './errors.js';

interface Base {
  /** The --help line(s); a default is appended by the generator. */
  help: string;
  /** Placeholder in --help (FILE, N, NAME). */
  arg?: string;
  required?: boolean;
  multiple?: boolean;
  short?: string;
}

interface Bounds {
  min?: number;
  max?: number;
  /** Exclusive lower / upper bounds. */
  above?: number;
  below?: number;
}

export type OptionSpec =
  | (Base & { type: 'flag' })
  | (Base & { type: 'string'; default?: string; pattern?: RegExp; patternText?: string })
  | (Base & Bounds & { type: 'int'; default?: number })
  | (Base & Bounds & { type: 'number'; default?: number })
  | (Base & { type: 'enum'; values: readonly string[]; default?: string })
  | (Base & { type: 'index-list'; max?: number; default?: string })
  | (Base & Bounds & { type: 'number-list'; default?: string })
  | (Base & { type: 'string-list'; values?: readonly string[]; default?: string })
  | (Base & { type: 'file' | 'file-or-dir'; default?: string })
  | (Base & { type: 'out-dir' | 'out-file'; default?: string; existing?: 'merge' | 'move-aside' })
  | (Base & { type: 'custom'; parse: (text: string, flag: string) => unknown; default?: string });

export type OptionTable = Record<string, OptionSpec>;

type ValueOf<S> = S extends { type: 'flag' }
  ? boolean
  : S extends { type: 'int' | 'number' }
    ? number
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { type: 'index-list' | 'number-list' }
        ? number[]
        : S extends { type: 'string-list' }
          ? string[]
          : S extends { type: 'custom'; parse: (text: string, flag: string) => infer R }
            ? R
            : string;

type AlwaysSet<S> = S extends { type: 'flag' } ? true : S extends { default: unknown } ? true : S extends { required: true } ? true : false;

/** The parsed, checked values of a table: present options typed, absent optional ones undefined. */
export type OptionValues<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K] extends { multiple: true }
    ? ValueOf<O[K]>[]
    : AlwaysSet<O[K]> extends true
      ? ValueOf<O[K]>
      : ValueOf<O[K]> | undefined;
};

/** What a parse produced: the values, whether --help was asked for, and which options the user gave. */
export interface ParsedOptions<O extends OptionTable> {
  values: OptionValues<O>;
  help: boolean;
  given: Set<string>;
}

const HELP: OptionSpec = { type: 'flag', short: 'h', help: 'this text' };

/**
 * Parses and checks argv against the table. Every error is a UsageError naming the option and what to
 * pass instead. Path options are checked for existence and kind here too (see checkPaths in paths.ts);
 * this function only checks their text.
 */
export function parseOptions<O extends OptionTable>(
  table: O,
  argv: readonly string[],
  exclusive: readonly (readonly string[])[] = [],
): ParsedOptions<O> {
  const raw = new Map<string, string[]>();
  const given = new Set<string>();
  // --help wins over every other mistake on the line: the user is asking how to call the command.
  if (argv.includes('--help') || argv.includes('-h')) return { values: {} as OptionValues<O>, help: true, given };
  let help = false;
  const byShort = new Map(Object.entries(table).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--help' || token === '-h') {
      help = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (token.startsWith('--') && token.length > 2) {
      const eq = token.indexOf('=');
      name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      inline = eq < 0 ? undefined : token.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(token) && byShort.has(token[1])) {
      name = byShort.get(token[1])!;
    } else {
      throw new UsageError(
        token.startsWith('-')
          ? `unknown option ${token}${suggest(token.replace(/^-+/, ''), Object.keys(table), '--')}`
          : `unexpected argument "${token}": every input is given through an option (e.g. --image ${token})`,
      );
    }
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec) throw new UsageError(`unknown option --${name}${suggest(name, Object.keys(table), '--')}`);
    if (spec.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value (got "--${name}=${inline}")`);
      if (given.has(name)) throw new UsageError(`--${name} is given twice`);
      given.add(name);
      raw.set(name, ['true']);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      // The next token is the value even when it starts with '-' (a negative number), unless it is
      // one of this command's options: then the value was forgotten.
      const next = argv[i + 1];
      if (next === undefined || isOptionToken(next, table)) {
        throw new UsageError(
          `--${name} needs a value (${spec.arg ?? defaultArg(spec)})${next === undefined ? '' : `, got option ${next}`}`,
        );
      }
      value = next;
      i++;
    }
    if (!spec.multiple && given.has(name))
      throw new UsageError(`--${name} is given twice ("${raw.get(name)![0]}" and "${value}"); give it once`);
    given.add(name);
    raw.set(name, [...(raw.get(name) ?? []), value]);
  }
  const values: Record<string, unknown> = {};
  if (help) return { values: values as OptionValues<O>, help, given };
  for (const group of exclusive) {
    const both = group.filter((n) => given.has(n));
    if (both.length > 1) throw new UsageError(`${both.map((n) => `--${n}`).join(' and ')} cannot be used together; choose one`);
  }
  for (const [name, spec] of Object.entries(table)) {
    const texts = raw.get(name);
    if (spec.type === 'flag') {
      values[name] = texts !== undefined;
      continue;
    }
    if (texts === undefined) {
      if (spec.required) throw new UsageError(`--${name} ${spec.arg ?? defaultArg(spec)} is required: ${firstLine(spec.help)}`);
      if (spec.default === undefined) values[name] = spec.multiple ? [] : undefined;
      else {
        const d = typeof spec.default === 'number' ? spec.default : convert(spec, name, spec.default);
        values[name] = spec.multiple ? [d] : d;
      }
      continue;
    }
    const converted = texts.map((t) => convert(spec, name, t));
    values[name] = spec.multiple ? converted : converted[0];
  }
  return { values: values as OptionValues<O>, help, given };
}

function isOptionToken(token: string, table: OptionTable): boolean {
  if (token === '--help' || token === '-h') return true;
  if (token.startsWith('--')) return Object.hasOwn(table, token.slice(2).split('=')[0]);
  return /^-[A-Za-z]$/.test(token) && Object.values(table).some((s) => s.short === token[1]);
}

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function convert(spec: Exclude<OptionSpec, { type: 'flag' }>, name: string, text: string): unknown {
  const flag = `--${name}`;
  switch (spec.type) {
    case 'string':
      if (text === '') throw new UsageError(`${flag} is empty; ${firstLine(spec.help)}`);
      if (spec.pattern && !spec.pattern.test(text))
        throw new UsageError(`${flag} must be ${spec.patternText ?? `like ${spec.pattern}`}, got "${text}"`);
      return text;
    case 'int':
      return checkBounds(spec, flag, parseInteger(text, flag));
    case 'number':
      return checkBounds(spec, flag, parseDecimal(text, flag));
    case 'enum':
      if (!spec.values.includes(text))
        throw new UsageError(`${flag} must be one of ${spec.values.join(', ')}; got "${text}"${suggest(text, spec.values)}`);
      return text;
    case 'index-list':
      return parseIndexList(text, flag, spec.max);
    case 'number-list': {
      const parts = text.split(',').map((s) => s.trim());
      if (parts.some((p) => !DECIMAL.test(p)))
        throw new UsageError(`${flag} must be a comma-separated list of numbers (e.g. 0.5,0.9), got "${text}"`);
      return parts.map((p) => checkBounds(spec, flag, Number(p)));
    }
    case 'string-list': {
      const parts = text.split(',').map((s) => s.trim());
      if (parts.some((p) => p === '')) throw new UsageError(`${flag} has an empty entry in "${text}"; separate names with single commas`);
      const bad = spec.values ? parts.find((p) => !spec.values!.includes(p)) : undefined;
      if (bad !== undefined)
        throw new UsageError(`${flag}: "${bad}" is not one of ${spec.values!.join(', ')}${suggest(bad, spec.values!)}`);
      return [...new Set(parts)];
    }
    case 'file':
    case 'file-or-dir':
    case 'out-dir':
    case 'out-file':
      if (text === '') throw new UsageError(`${flag} is empty; give a path`);
      if (text.includes('\0')) throw new UsageError(`${flag} contains a NUL byte; give a plain path`);
      return text;
    case 'custom':
      return spec.parse(text, flag);
  }
}

export function parseInteger(text: string, flag: string): number {
  const v = Number(text);
  if (!INT.test(text.trim()) || !Number.isSafeInteger(v)) throw new UsageError(`${flag} must be an integer, got "${text}"`);
  return v;
}

export function parseDecimal(text: string, flag: string): number {
  const v = Number(text);
  if (!DECIMAL.test(text.trim()) || !Number.isFinite(v)) throw new UsageError(`${flag} must be a number, got "${text}"`);
  return v;
}

/** `v` within the bounds, or a UsageError naming the flag and the range. */
export function checkBounds(b: Bounds, flag: string, v: number): number {
  if (
    (b.min !== undefined && v < b.min) ||
    (b.max !== undefined && v > b.max) ||
    (b.above !== undefined && v <= b.above) ||
    (b.below !== undefined && v >= b.below)
  ) {
    throw new UsageError(`${flag} ${v} is out of range: it must be ${rangeText(b)}`);
  }
  return v;
}

export function rangeText(b: Bounds): string {
  const low = b.min !== undefined ? `>= ${b.min}` : b.above !== undefined ? `> ${b.above}` : '';
  const high = b.max !== undefined ? `<= ${b.max}` : b.below !== undefined ? `< ${b.below}` : '';
  return [low, high].filter(Boolean).join(' and ') || 'a finite number';
}

/** "0,5,7" or "0-3,8" -> [0, 5, 7] / [0, 1, 2, 3, 8]; duplicates dropped, order kept. */
export function parseIndexList(text: string, flag: string, max = 1_000_000): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`${flag}: "${part}" is not an index or a range like 0-7 (expected e.g. 0,5,7)`);
    const [a, b] = [Number(m[1]), m[2] === undefined ? Number(m[1]) : Number(m[2])];
    if (b < a) throw new UsageError(`${flag}: range ${part} is empty`);
    if (b > max) throw new UsageError(`${flag}: index ${b} is too large (at most ${max})`);
    if (b - a > 100000) throw new UsageError(`${flag}: range ${part} is too long`);
    for (let i = a; i <= b; i++) {
      if (seen.has(i)) continue;
      seen.add(i);
      out.push(i);
    }
  }
  if (!out.length) throw new UsageError(`${flag} is empty`);
  return out;
}

// ------------------------------------------------------------------------------------------ help

/** `layertracer NAME USAGE`, the description, then one aligned line per option, from the table. */
export function helpText(command: string, usage: string, description: string, table: OptionTable): string {
  const rows = Object.entries({ ...table, help: HELP }).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'flag' ? '' : ` ${s.arg ?? defaultArg(s)}`}`;
    const notes = [s.type !== 'flag' && s.default !== undefined ? `default ${s.default}` : '', s.multiple ? 'repeatable' : ''].filter(
      Boolean,
    );
    return { left, help: notes.length ? `${s.help} (${notes.join('; ')})` : s.help };
  });
  // The option column fits the usual options; a longer one (an enum's values) puts its help on the next line.
  const width = Math.min(MAX_OPTION_COLUMN, Math.max(18, ...rows.map((r) => r.left.length + 2)));
  const indent = `\n  ${' '.repeat(width)} `;
  const lines = rows.map((r) => {
    // Help texts are prose: the wrapper breaks them, not the newlines they were written with.
    const text = wrap(r.help.replace(/\s*\n\s*/g, ' '), HELP_WIDTH - width - 3).join(indent);
    return r.left.length < width ? `  ${r.left.padEnd(width)} ${text}` : `  ${r.left}${indent}${text}`;
  });
  return `layertracer ${command} ${usage}\n\n${description.trim()}\n\n${lines.join('\n')}\n`;
}

const HELP_WIDTH = 110;
/** Widest option column in --help, so one long enum does not push every help text right. */
const MAX_OPTION_COLUMN = 30;

/** Splits at the help text's own newlines, then at spaces so no line passes `width`. */
function wrap(text: string, width: number): string[] {
  return text.split('\n').flatMap((line) => {
    const out: string[] = [];
    let current = '';
    for (const word of line.split(' ')) {
      if (current && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    return [...out, current];
  });
}

function defaultArg(s: OptionSpec): string {
  switch (s.type) {
    case 'int':
      return 'N';
    case 'number':
      return 'X';
    case 'enum':
      return s.values.join('|');
    case 'file':
      return 'FILE';
    case 'out-file':
      return 'FILE';
    case 'out-dir':
      return 'DIR';
    case 'file-or-dir':
      return 'FILE|DIR';
    case 'index-list':
    case 'number-list':
    case 'string-list':
      return 'LIST';
    default:
      return 'VALUE';
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** " (did you mean --x?)" for a near miss among `names`, else "". */
function suggest(name: string, names: readonly string[], prefix = ''): string {
  const best = names
    .map((n) => ({ n, d: editDistance(name.toLowerCase(), n.toLowerCase()) }))
    .filter(({ n, d }) => d <= Math.max(1, Math.round(n.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  return best ? `; did you mean ${prefix}${best.n}?` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 4 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1), prev[j] + 1, cur[j - 1] + 1));
    prev = cur;
  }
  return prev[b.length];
}
