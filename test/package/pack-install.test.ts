/**
 * The package as a user gets it: `npm pack` (whose prepack builds the bundles and declarations), the
 * tarball installed into a temporary project from the npm cache, then, against that installation only:
 * the Node quick start and every method-family example from examples/ (each must exit by itself), the
 * browser example bundled with esbuild from the installed package and run in headless Chromium, a strict
 * TypeScript compile of a Node and of a browser consumer, `npx layertracer --help`, and the API reference
 * built from the shipped declarations. One tarball serves every check.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageBytes } from '../../src/image/decode-node.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser/chromium-args.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const NODE_MODULES = join(ROOT, 'node_modules');
/** Far above the ~1.3 MB it is (weights 0.9 MB); the unpackaged tree was 12 MB. */
const MAX_TARBALL_BYTES = 3 * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'layertracer-pack-'));
const consumer = join(work, 'consumer');
let tarball: { path: string; size: number; files: string[] };

interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit code and output (never rejects on a failing exit). */
function run(command: string, args: string[], cwd: string, timeoutS = 60): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: timeoutS * 1000, maxBuffer: 64 << 20 }, (err: ExecFileException | null, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

function describeRun(what: string, r: RunResult): string {
  return `${what} exited with ${r.code ?? r.signal}${r.signal === 'SIGTERM' ? ' (killed at the timeout: did the process fail to exit by itself?)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

beforeAll(async () => {
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT, 300);
  expect(pack.code, describeRun('npm pack', pack)).toBe(0);
  // Lifecycle output may precede npm's JSON.
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; size: number; files: { path: string }[] }[];
  tarball = { path: join(work, info.filename), size: info.size, files: info.files.map((f) => f.path) };

  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = await run('npm', ['install', tarball.path, '--prefer-offline', '--no-audit', '--no-fund'], consumer, 300);
  expect(install.code, describeRun('npm install', install)).toBe(0);
  for (const picture of ['star.png', 'heart.png']) cpSync(join(EXAMPLES, picture), join(consumer, picture));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('is small and holds the built code, declarations and weights, not sources, tests or tools', () => {
    expect(tarball.size, `tarball is ${tarball.size} bytes`).toBeLessThan(MAX_TARBALL_BYTES);
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'dist/node/index.js',
      'dist/browser/layertracer.js',
      'dist/cli.js',
      'dist/types/index.d.ts',
      'dist/types/node.d.ts',
      'dist/types/browser.d.ts',
      'weights/default-vgg.safetensors',
      'weights/default-resnet.safetensors',
      'weights/default-vgg.means.safetensors',
      'weights/default-resnet.means.safetensors',
    ]) {
      expect(tarball.files, `${needed} is missing from the tarball`).toContain(needed);
    }
    const unwanted = tarball.files.filter(
      (f) => /^(src|test|tools|bench|web|docs|examples|shaders)\//.test(f) || /\.(py|map|wgsl)$/.test(f) || /(?<!\.d)\.ts$/.test(f),
    );
    expect(unwanted, 'sources, tests, tools or source maps in the tarball').toEqual([]);
  });

  it('runs the Node quick start from the installed package, and the process exits by itself', async () => {
    cpSync(join(EXAMPLES, 'quick-start.mjs'), join(consumer, 'quick-start.mjs'));
    const r = await run(process.execPath, ['quick-start.mjs'], consumer);
    expect(r.code, describeRun('node quick-start.mjs', r)).toBe(0);
    expect(r.stdout).toMatch(/label: 'star'/);
    const overlay = decodeImageBytes(readFileSync(join(consumer, 'star.grad-cam.png')), 'star.grad-cam.png');
    const input = decodeImageBytes(readFileSync(join(consumer, 'star.png')), 'star.png');
    expect([overlay.width, overlay.height]).toEqual([64, 64]);
    expect(overlay.data, 'the overlay is the unchanged picture').not.toEqual(input.data);
  });

  it('runs every method-family example', async () => {
    cpSync(join(EXAMPLES, 'methods'), join(consumer, 'methods'), { recursive: true });
    const scripts = readdirSync(join(consumer, 'methods')).filter((f) => f.endsWith('.mjs'));
    expect(scripts.length).toBeGreaterThanOrEqual(5);
    for (const script of scripts) {
      const r = await run(process.execPath, [join('methods', script)], consumer);
      expect(r.code, describeRun(`node methods/${script}`, r)).toBe(0);
      const out = join(consumer, 'out', script.replace(/\.mjs$/, ''));
      expect(existsSync(out) && readdirSync(out).some((f) => f.endsWith('.png')), `${script} wrote no PNG to ${out}`).toBe(true);
    }
  });

  it('runs the browser example, bundled with esbuild from the installed package, in headless Chromium', async () => {
    const page = join(consumer, 'browser');
    cpSync(join(EXAMPLES, 'browser'), page, { recursive: true });
    cpSync(join(consumer, 'star.png'), join(page, 'star.png'));
    // The weights the page loads come out of the installed package.
    cpSync(join(consumer, 'node_modules/layertracer/weights/default-vgg.safetensors'), join(page, 'default-vgg.safetensors'));
    const built = await esbuild.build({
      entryPoints: [join(page, 'main.js')],
      outfile: join(page, 'bundle.js'),
      absWorkingDir: consumer,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
      metafile: true,
    });
    const inputs = Object.keys(built.metafile.inputs);
    expect(
      inputs.some((p) => p.includes('node_modules/layertracer/dist/browser/layertracer.js')),
      inputs.join('\n'),
    ).toBe(true);
    expect(readFileSync(join(page, 'bundle.js'), 'utf8')).not.toMatch(/from ['"](node:|webgpu)/);

    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.png': 'image/png' };
    const server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const file = join(page, path === '/' ? 'index.html' : path);
      if (!file.startsWith(page) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    });
    // 127.0.0.1 is a secure context, which navigator.gpu requires.
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await tab.waitForFunction(() => document.querySelector('#top1')?.textContent !== 'computing…' || false, null, {
        timeout: 60_000,
        polling: 100,
      });
      expect(errors, 'errors on the page').toEqual([]);
      expect(await tab.locator('#top1').textContent()).toMatch(/^star \(\d+\.\d %\)$/);
      const canvas = await tab.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#overlay')!;
        const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set<number>();
        for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return { width: c.width, height: c.height, colours: colours.size };
      });
      expect(canvas.width).toBe(64);
      expect(canvas.height).toBe(64);
      expect(canvas.colours, 'the overlay canvas looks blank').toBeGreaterThan(100);
    } finally {
      await browser.close();
      server.close();
    }
  });

  it('compiles a strict TypeScript consumer for Node and one for browsers against the declarations', async () => {
    const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));
    const tsc = join(NODE_MODULES, 'typescript/bin/tsc');
    for (const flavour of ['node', 'browser']) {
      cpSync(join(fixtures, `${flavour}-consumer.ts`), join(consumer, `${flavour}-consumer.ts`));
      const config = JSON.parse(readFileSync(join(fixtures, `tsconfig.${flavour}.json`), 'utf8'));
      // The consumer has no @types/node of its own: lend it the project's.
      if (flavour === 'node') config.compilerOptions.typeRoots = [join(NODE_MODULES, '@types')];
      writeFileSync(join(consumer, `tsconfig.${flavour}.json`), JSON.stringify(config));
      const r = await run(process.execPath, [tsc, '-p', `tsconfig.${flavour}.json`], consumer);
      expect(r.code, describeRun(`tsc (${flavour} consumer)`, r)).toBe(0);
    }
  });

  it('answers `npx layertracer --help` from the installed package', async () => {
    const r = await run('npx', ['--no-install', 'layertracer', '--help'], consumer);
    expect(r.code, describeRun('npx layertracer --help', r)).toBe(0);
    expect(r.stdout).toMatch(/usage: layertracer <command>/);
    for (const command of ['explain', 'evaluate', 'trace', 'demo']) expect(r.stdout).toContain(`  ${command} `);
  });

  it('builds the API reference from the declarations it ships, without warnings', async () => {
    const r = await run(process.execPath, [join(NODE_MODULES, 'typedoc/bin/typedoc'), '--out', join(work, 'api')], ROOT, 120);
    expect(r.code, describeRun('typedoc', r)).toBe(0);
    expect(existsSync(join(work, 'api/index.html'))).toBe(true);
  });
});
