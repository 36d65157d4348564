/**
 * Shared fixtures for the CLI tests: real inputs for every command, an in-process runner that captures
 * the messages and the exit code, and the built CLI for tests that need a real process (signals).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { writePng } from '../../src/image/encode-node.js';
import { cifarFile } from '../util/shared-data.js';

export const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const VGG = join(ROOT, 'weights', 'default-vgg.safetensors');
export const VGG_MEANS = join(ROOT, 'weights', 'default-vgg.means.safetensors');
export const RESNET20 = cifarFile('resnet20.safetensors');
export const TEST1000 = cifarFile('test1000.safetensors');

export interface Fixtures {
  dir: string;
  /** A 64x64 PNG the default models take as is. */
  image: string;
  /** A folder with an existing file that no failed run may touch. */
  out: string;
  cleanup(): void;
}

export async function makeFixtures(prefix: string): Promise<Fixtures> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const image = join(dir, 'shape.png');
  const data = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
  await writePng(image, { width: 64, height: 64, data });
  const out = join(dir, 'out');
  mkdirSync(out);
  await writePng(join(out, 'earlier.png'), { width: 2, height: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  return { dir, image, out, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the CLI in this process; console output of the command is swallowed, stderr captured. */
export async function cli(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runCli(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
    return { code, stderr, stdout };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

let built: string | null = null;

/** dist/cli.js, built once per test file (esbuild, about a second). */
export function builtCli(): string {
  if (!built) {
    execFileSync(process.execPath, [join(ROOT, 'tools', 'build.mjs'), '--quiet', 'cli'], { cwd: ROOT, stdio: 'inherit' });
    built = join(ROOT, 'dist', 'cli.js');
  }
  return built;
}
