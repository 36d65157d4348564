import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { helpText, parseOptions, type OptionTable } from '../../src/cli/options.js';

const TABLE = {
  weights: { type: 'file', required: true, help: 'model weights' },
  image: { type: 'file', multiple: true, help: 'an image' },
  seed: { type: 'int', default: 0, help: 'seed' },
  keep: { type: 'number', above: 0, below: 1, default: 0.5, help: 'keep probability' },
  masks: { type: 'int', min: 1, max: 100, help: 'masks' },
  colormap: { type: 'enum', values: ['jet', 'turbo'], default: 'jet', help: 'colour map' },
  channels: { type: 'index-list', help: 'channels' },
  thresholds: { type: 'number-list', min: 0, help: 'thresholds' },
  methods: { type: 'string-list', values: ['a', 'b'], help: 'methods' },
  grey: { type: 'flag', help: 'grey tiles' },
  first: { type: 'flag', help: 'first' },
  last: { type: 'flag', help: 'last' },
} as const satisfies OptionTable;

const parse = (...argv: string[]) => parseOptions(TABLE, argv, [['first', 'last']]).values;
const refuse = (argv: string[], message: RegExp) => {
  expect(() => parseOptions(TABLE, argv, [['first', 'last']])).toThrow(UsageError);
  expect(() => parseOptions(TABLE, argv, [['first', 'last']])).toThrow(message);
};

describe('option schema parser', () => {
  it('fills defaults, types values and leaves absent optional options undefined', () => {
    const v = parse('--weights', 'w.safetensors');
    expect(v).toMatchObject({ weights: 'w.safetensors', seed: 0, keep: 0.5, colormap: 'jet', grey: false, image: [] });
    expect(v.masks).toBeUndefined();
    expect(parse('--weights=w', '--masks', '7', '--image', 'a', '--image', 'b', '--grey').masks).toBe(7);
    expect(parse('--weights=w', '--image', 'a', '--image', 'b').image).toEqual(['a', 'b']);
  });

  it('takes negative numbers as values, not as options', () => {
    expect(parse('--weights', 'w', '--seed', '-3').seed).toBe(-3);
    expect(parse('--weights', 'w', '--seed=-7').seed).toBe(-7);
    expect(parse('--weights', 'w', '--thresholds', '-0,0.5').thresholds).toEqual([-0, 0.5]);
    refuse(['--weights', 'w', '--thresholds', '-1,0.5'], /--thresholds -1 is out of range: it must be >= 0/);
  });

  it('never lets a non-number through as NaN', () => {
    for (const bad of ['abc', '', 'NaN', 'Infinity', '-Infinity', '1e400', '0x10', '1,5', '1 2', ' ', '.', 'e5', '--']) {
      refuse(['--weights', 'w', '--keep', bad], /--keep (must be a number|needs a value)/);
    }
    for (const bad of ['1.5', '1e3', 'abc', '', '9007199254740993', '0x1'])
      refuse(['--weights', 'w', '--seed', bad], /--seed must be an integer/);
    refuse(['--weights', 'w', '--thresholds', '0.5,,1'], /comma-separated list of numbers/);
  });

  it('checks ranges, inclusive and exclusive', () => {
    refuse(['--weights', 'w', '--keep', '0'], /--keep 0 is out of range: it must be > 0 and < 1/);
    refuse(['--weights', 'w', '--keep', '1'], /--keep 1 is out of range/);
    refuse(['--weights', 'w', '--masks', '0'], /--masks 0 is out of range: it must be >= 1 and <= 100/);
    refuse(['--weights', 'w', '--masks', '101'], /out of range/);
    expect(parse('--weights', 'w', '--masks', '100').masks).toBe(100);
  });

  it('checks enums and string lists, with a suggestion for a near miss', () => {
    refuse(['--weights', 'w', '--colormap', 'turob'], /--colormap must be one of jet, turbo; got "turob"; did you mean turbo\?/);
    refuse(['--weights', 'w', '--methods', 'a,c'], /--methods: "c" is not one of a, b/);
    expect(parse('--weights', 'w', '--methods', 'b,a,b').methods).toEqual(['b', 'a']);
  });

  it('parses index lists and ranges and refuses junk', () => {
    expect(parse('--weights', 'w', '--channels', '0-3,8,2').channels).toEqual([0, 1, 2, 3, 8]);
    refuse(['--weights', 'w', '--channels', '5-2'], /range 5-2 is empty/);
    refuse(['--weights', 'w', '--channels', '-1'], /"-1" is not an index/);
    refuse(['--weights', 'w', '--channels', '0-99999999'], /too large|too long/);
  });

  it('refuses missing, repeated, unknown and valueless options, and stray arguments', () => {
    refuse([], /--weights FILE is required/);
    refuse(['--weights', 'a', '--weights', 'b'], /--weights is given twice/);
    refuse(['--weights', 'w', '--wieghts', 'x'], /unknown option --wieghts; did you mean --weights\?/);
    refuse(['--weights'], /--weights needs a value/);
    refuse(['--weights', '--grey'], /--weights needs a value \(FILE\), got option --grey/);
    refuse(['--weights', 'w', 'extra.png'], /unexpected argument "extra.png"/);
    refuse(['--weights', 'w', '--grey=yes'], /--grey takes no value/);
    refuse(['--weights', 'w', '--first', '--last'], /--first and --last cannot be used together/);
  });

  it('answers --help before checking anything else', () => {
    expect(parseOptions(TABLE, ['--seed', 'abc', '--help']).help).toBe(true);
    expect(parseOptions(TABLE, ['-h']).help).toBe(true);
  });

  it('generates help from the table: every option, its placeholder and its default', () => {
    const help = helpText('demo', '[options]', 'What it does.', TABLE);
    for (const name of Object.keys(TABLE)) expect(help).toContain(`--${name}`);
    expect(help).toContain('--seed N');
    expect(help).toContain('(default 0.5)');
    expect(help).toContain('--colormap jet|turbo');
    expect(help).toContain('-h, --help');
  });

  it('keeps the option column narrow: a long option gets its help on the next line, and help prose is rewrapped', () => {
    const help = helpText('x', '[options]', 'What it does.', {
      short: { type: 'flag', help: 'a short one' },
      scale: {
        type: 'enum',
        values: ['relative-to-the-range', 'absolute-in-input-units'],
        help: 'how sigma is read:\nrelative or absolute',
      },
    });
    const lines = help.split('\n');
    const shortLine = lines.find((l) => l.includes('--short'))!;
    const scaleAt = lines.findIndex((l) => l.includes('--scale'));
    // The help column starts at the same place for both, no further than the cap.
    const column = shortLine.indexOf('a short one');
    expect(column).toBeLessThanOrEqual(2 + 30 + 1);
    expect(lines[scaleAt].trim()).toBe('--scale relative-to-the-range|absolute-in-input-units');
    expect(lines[scaleAt + 1].indexOf('how sigma is read: relative or absolute')).toBe(column);
  });
});
