/**
 * Runs the bad-input table (bad-inputs.ts) through the CLI in this process: every row must exit with
 * its code, say its phrase, print no stack trace, leave the output folder and the input folder exactly
 * as they were and leave no staging folder behind.
 */
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, makeFixtures, VGG, VGG_MEANS } from '../cli/cli-fixtures.js';
import { snapshot } from '../cli/snapshot.js';
import { BAD_INPUTS } from './bad-inputs.js';
import { makeHostileFiles } from './hostile-files.js';

const fx = await makeFixtures('lt-bad-inputs-');
const restoreOut = async () => {
  const again = await makeFixtures('lt-bad-inputs-restore-');
  cpSync(join(again.out, 'earlier.png'), join(fx.out, 'earlier.png'));
  again.cleanup();
};
afterAll(() => fx.cleanup());
const hostile = join(fx.dir, 'inputs');
const files: Record<string, string> = { ...makeHostileFiles(hostile), VGG, MEANS: VGG_MEANS, OUT: fx.out, DIR: hostile, EMPTY: '' };

function argv(args: string): string[] {
  return args
    .split(' ')
    .filter(Boolean)
    .map((a) =>
      a.replace(/\{(\w+)\}/g, (_, key: string) => {
        if (!(key in files)) throw new Error(`bad-input table: unknown placeholder {${key}}`);
        return files[key];
      }),
    );
}

const leftovers = () => [fx.dir, hostile, '/tmp'].flatMap((d) => readdirSync(d).filter((f) => f.includes('.staging-')));

describe('the bad-input table', () => {
  it('has at least 150 rows over every command', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(150);
    const commands = new Set(BAD_INPUTS.map((r) => r.args.split(' ')[0]));
    for (const c of [
      'demo',
      'explain',
      'evaluate',
      'class-means',
      'early-exit',
      'filters',
      'patches',
      'neighbours',
      'embed',
      'trace',
      'profile',
    ])
      expect(commands).toContain(c);
  });

  it('every row exits with its code and message, prints no stack, and changes nothing', async () => {
    const out = snapshot(fx.out);
    const inputs = snapshot(hostile);
    const failures: string[] = [];
    for (const row of BAD_INPUTS) {
      const r = await cli(argv(row.args));
      const changed = JSON.stringify(snapshot(fx.out)) !== JSON.stringify(out);
      const problems = [
        r.code !== row.code && `exit ${r.code}, expected ${row.code}`,
        !(r.stderr + r.stdout).includes(row.phrase) && `message lacks "${row.phrase}"`,
        /\n\s+at /.test(r.stderr) && 'a stack trace was printed',
        changed && 'the output folder changed',
      ].filter(Boolean);
      if (changed) {
        // Put it back, so one failing row does not make the rows after it fail too.
        rmSync(fx.out, { recursive: true });
        mkdirSync(fx.out);
        await restoreOut();
      }
      if (problems.length) failures.push(`${row.args}\n    ${problems.join('; ')}\n    stderr: ${r.stderr.trim().slice(0, 400)}`);
    }
    expect(failures).toEqual([]);
    expect(snapshot(fx.out)).toEqual(out);
    expect(snapshot(hostile)).toEqual(inputs);
    expect(leftovers()).toEqual([]);
  });
});
