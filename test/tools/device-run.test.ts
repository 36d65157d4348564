/**
 * tools/device-run/kernel-cases.ts, the kernel case tables under Node without vitest (for lent GPU
 * machines): bundled the way tools/device-run/pack.mjs bundles it, then run as a child process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeOptions, ROOT } from '../../tools/build.mjs';
import { kernelCaseFilesPlugin } from '../kernels/case-files-plugin.mjs';

const fixtures = mkdtempSync(join(tmpdir(), 'layertracer-device-run-'));
// Inside the repository, so the bundle finds the external `webgpu` package in node_modules.
const outDir = resolve(ROOT, 'dist', `device-run-test-${process.pid}`);
afterAll(() => {
  rmSync(fixtures, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

async function bundle(casesDir: string, name: string): Promise<string> {
  const out = join(outDir, name);
  const options = nodeOptions('tools/device-run/kernel-cases.ts', out);
  await esbuild.build({ ...options, plugins: [...options.plugins, kernelCaseFilesPlugin(casesDir)], sourcemap: false, logLevel: 'error' });
  return out;
}

function run(script: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('tools/device-run kernel-case runner', () => {
  it('runs the real tables and says how many passed', async () => {
    const script = await bundle(resolve(ROOT, 'test/kernels'), 'real.js');
    const { code, output } = run(script, '^relu forward');
    expect(output, output).toMatch(/Kernel cases on .*: [1-9]\d* passed, 0 failed/);
    expect(code, output).toBe(0);
  });

  it('fails with the case, its message and a non-zero exit when a case fails', async () => {
    writeFileSync(
      join(fixtures, 'mixed.cases.ts'),
      `export const cases = [
  { name: 'passes', run: async () => {} },
  { name: 'fails on purpose', run: async () => { throw new Error('worst difference 0.5 at [3]'); } },
];
`,
    );
    writeFileSync(join(fixtures, 'empty.cases.ts'), 'export const nothing = 1;\n');
    const script = await bundle(fixtures, 'mixed.js');
    const { code, output } = run(script);
    expect(output).toContain('[FAIL] mixed.cases.ts | fails on purpose: worst difference 0.5 at [3]');
    expect(output).toContain('[FAIL] empty.cases.ts | empty.cases.ts: exports no KernelCase[]');
    expect(output).toMatch(/: 1 passed, 2 failed/);
    expect(code).toBe(1);
  });
});
