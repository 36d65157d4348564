/**
 * Every command's option table drives these cases: each numeric option gets junk and out-of-range
 * values, each enum a wrong name, each required option is left out. All must be refused with exit code 2
 * and a message naming the option, before anything is loaded, and the output folder must not change.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import type { OptionSpec } from '../../src/cli/options.js';
import { cli, makeFixtures, TEST1000, VGG, VGG_MEANS } from './cli-fixtures.js';
import { snapshot } from './snapshot.js';

const fx = await makeFixtures('lt-schema-');
afterAll(() => fx.cleanup());

/** A valid value for each option name used by the commands (the table gives the type, this the meaning). */
function validValue(name: string, spec: OptionSpec): string[] {
  switch (name) {
    case 'weights':
      return [VGG];
    case 'means':
      return [VGG_MEANS];
    case 'data':
      return [TEST1000];
    case 'image':
      return [fx.image];
    case 'layer':
      return ['features.0'];
    case 'channels':
    case 'queries':
      return ['0,1'];
    case 'out':
      return [spec.type === 'out-file' ? join(fx.dir, 'means.safetensors') : fx.out];
    default:
      return [];
  }
}

function baseline(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).flatMap(([name, spec]) =>
    spec.required || name === 'out' ? [`--${name}`, ...validValue(name, spec)] : [],
  );
}

interface Case {
  argv: string[];
  phrase: string;
}

/** The baseline with `flag` set to `value` (replaced when the baseline already gives it). */
function withValue(base: string[], flag: string, ...value: string[]): string[] {
  const i = base.indexOf(flag);
  return i < 0 ? [...base, flag, ...value] : [...base.slice(0, i), flag, ...value, ...base.slice(i + 2)];
}

function casesFor(options: Record<string, OptionSpec>): Case[] {
  const base = baseline(options);
  const cases: Case[] = [];
  for (const [name, spec] of Object.entries(options)) {
    const flag = `--${name}`;
    if (spec.type === 'int' || spec.type === 'number') {
      for (const junk of ['abc', 'NaN', 'Infinity', '1e999', '0x10', '']) cases.push({ argv: withValue(base, flag, junk), phrase: flag });
      if (spec.type === 'int') cases.push({ argv: withValue(base, flag, '2.5'), phrase: `${flag} must be an integer` });
      const low = spec.min ?? spec.above;
      if (low !== undefined) cases.push({ argv: withValue(base, flag, String(low - 1)), phrase: `${flag} ${low - 1} is out of range` });
      const high = spec.max ?? spec.below;
      if (high !== undefined) cases.push({ argv: withValue(base, flag, String(high + 1)), phrase: `${flag} ${high + 1} is out of range` });
    }
    if (spec.type === 'enum') cases.push({ argv: withValue(base, flag, 'no-such-value'), phrase: `${flag} must be one of` });
    if (spec.type === 'number-list') cases.push({ argv: withValue(base, flag, '0.5,x'), phrase: `${flag} must be a comma-separated list` });
    if (spec.type === 'index-list') cases.push({ argv: withValue(base, flag, '3-1'), phrase: 'is empty' });
    if (spec.type === 'flag') cases.push({ argv: [...base, `${flag}=1`], phrase: `${flag} takes no value` });
    if (spec.required) {
      const i = base.indexOf(flag);
      cases.push({ argv: [...base.slice(0, i), ...base.slice(i + 1 + validValue(name, spec).length)], phrase: `${flag}` });
    }
    if (spec.type !== 'flag' && !spec.multiple && spec.default !== undefined)
      cases.push({ argv: [...base, flag, String(spec.default), flag, String(spec.default)], phrase: `${flag} is given twice` });
  }
  cases.push({ argv: [...base, '--no-such-option', '1'], phrase: 'unknown option --no-such-option' });
  cases.push({ argv: [...base, 'stray.png'], phrase: 'unexpected argument' });
  return cases;
}

describe('option tables drive the refusals of every command', () => {
  for (const command of COMMANDS) {
    it(`${command.name}: junk, out-of-range, missing and repeated options exit 2 naming the option; the output folder is untouched`, async () => {
      const before = snapshot(fx.out);
      const cases = casesFor(command.options);
      expect(cases.length).toBeGreaterThan(4);
      for (const c of cases) {
        const r = await cli([command.name, ...c.argv]);
        expect({ argv: c.argv, code: r.code }).toEqual({ argv: c.argv, code: 2 });
        expect(r.stderr).toContain(c.phrase);
      }
      expect(snapshot(fx.out)).toEqual(before);
    });
  }

  it('--help prints the generated text and exits 0, even with bad options beside it', async () => {
    for (const command of COMMANDS) {
      const r = await cli([command.name, '--batch', 'junk', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(command.help);
      for (const name of Object.keys(command.options)) expect(command.help).toContain(`--${name}`);
    }
  });

  it('every default passes its own option check', async () => {
    const { parseOptions } = await import('../../src/cli/options.js');
    for (const command of COMMANDS) {
      const required = Object.fromEntries(Object.entries(command.options).map(([n, s]) => [n, { ...s, required: false }]));
      expect(() => parseOptions(required as Record<string, OptionSpec>, [])).not.toThrow();
    }
  });
});
