/**
 * The bench scripts' command lines (bench/args.ts), run the way `npm run bench:*` runs them: bundled,
 * then as a child process. --help prints the usage and exits 0; an unknown flag or a malformed number is
 * one line naming it, exit status 2, and stops before any GPU adapter is asked for.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeOptions, ROOT } from '../../tools/build.mjs';

// Inside the repository, so the bundles find the external `webgpu` package in node_modules.
const outDir = resolve(ROOT, 'dist', `bench-args-test-${process.pid}`);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

async function bundle(name: string): Promise<string> {
  const out = join(outDir, `${name}.js`);
  await esbuild.build({ ...nodeOptions(`bench/${name}.bench.ts`, out), sourcemap: false, logLevel: 'error' });
  return out;
}

function run(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// [script, a malformed value for one of its number flags, the flag it names]
const SCRIPTS: [string, string[], string][] = [
  ['peers', ['--rounds', '0'], '--rounds'],
  ['methods', ['--quick', 'extra'], 'extra'],
  ['early-exit', ['--max-accuracy-drop', 'lots'], '--max-accuracy-drop'],
  ['layertracer', ['--images', '2.5'], '--images'],
  ['localisation', ['--batch', 'x'], '--batch'],
];

describe('bench scripts: flags', () => {
  for (const [name, bad, flag] of SCRIPTS) {
    it(`bench:${name}: --help, an unknown flag, and ${bad.join(' ')}`, async () => {
      const script = await bundle(name);
      const help = run(script, '--help');
      expect(help.stdout).toMatch(new RegExp(`^usage: bench:${name} `));
      expect(help.code, help.stderr).toBe(0);
      for (const args of [['--no-such-flag'], bad]) {
        const r = run(script, ...args);
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`bench:${name}: `);
        expect(r.stderr).toContain(args === bad ? flag : '--no-such-flag');
        expect(r.stderr).toContain('--help lists the flags');
        // stopped before the engine: Dawn prints its limit warnings when an adapter is created
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/maxDynamic|adapter/i);
      }
    });
  }
});
