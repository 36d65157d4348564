#!/usr/bin/env node
// Runs the kernel case tables (test/kernels/*.cases.ts) in headless Chromium through navigator.gpu.
//
//   node test/browser/run.mjs [--grep REGEX] [--timeout SECONDS] [--verbose]
//
// Bundles test/browser/entry.ts with the library's browser build options, serves it from memory on
// 127.0.0.1 (a free port), drives Debian's /usr/bin/chromium (CHROMIUM_PATH overrides) with
// playwright-core, prints the adapter and every case, and ends with `Browser: N passed, M failed`.
// Exit status: 0 all passed; 1 a case failed, no adapter, no cases, or the page never finished.
//
// Adapter: Chromium 156 headless on a machine without a GPU exposes exactly one WebGPU adapter,
// its bundled SwiftShader (Vulkan on the CPU; vendor "google", architecture "swiftshader").
// Dawn inside Chromium also enumerates Mesa lavapipe, but Chromium refuses it: chrome://gpu lists it
// as "Blocklisted - crbug.com/40057808: CPU adapters not fully tested or conformant" (only
// SwiftShader is exempt), and the flags tried here (--enable-features=Vulkan, --use-angle=vulkan,
// --use-vulkan=native, --ignore-gpu-blocklist, --disable-vulkan-fallback-to-gl-for-testing) change
// only the GL/compositing path, not the WebGPU adapter. So the browser tests run on a second,
// independent software implementation (SwiftShader) while Node's run on lavapipe; both must agree
// with the CPU references. On a machine with a real GPU, LAYERTRACER_BROWSER_ADAPTER=default lets
// Chromium choose.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { browserOptions, ROOT } from '../../tools/build.mjs';
import { kernelCaseFilesPlugin } from '../kernels/case-files-plugin.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium-args.mjs';

// The case tables. LAYERTRACER_BROWSER_CASES_DIR points elsewhere only to test this runner itself.
const CASES_DIR = resolve(ROOT, process.env.LAYERTRACER_BROWSER_CASES_DIR || 'test/kernels');

async function bundle() {
  const options = browserOptions(join(ROOT, 'test/browser/entry.ts'), join(ROOT, 'dist/browser-test/entry.js'));
  const result = await esbuild.build({
    ...options,
    plugins: [...options.plugins, kernelCaseFilesPlugin(CASES_DIR)],
    sourcemap: false,
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0].contents;
}

function serve(js) {
  const html =
    '<!doctype html><meta charset="utf-8"><title>LayerTracer kernel tests</title><script type="module" src="/entry.js"></script>';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (path === '/entry.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(js);
    } else if (path === '/favicon.ico') {
      res.writeHead(204).end(); // keeps a 404 for the icon out of the console log
    } else {
      res.writeHead(404).end();
    }
  });
  // 127.0.0.1 is a secure context, which navigator.gpu requires (about:blank and data: URLs get none).
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

function chromiumVersion(path) {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return (r.stdout ?? '').trim() || 'unknown version';
}

export async function runBrowserTests({ grep, timeoutS = 300, verbose = false } = {}) {
  const executablePath = CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    console.error(
      `browser: no Chromium at ${executablePath}; run \`bash tools/setup.sh --browser\` (Debian: apt-get install chromium) or set CHROMIUM_PATH`,
    );
    return 1;
  }
  const t0 = performance.now();
  const js = await bundle();
  const server = await serve(js);
  const url = `http://127.0.0.1:${server.address().port}/${grep ? `?grep=${encodeURIComponent(grep)}` : ''}`;
  // Playwright refuses --user-data-dir in launch() args; a persistent context on a fresh temp
  // directory is the same thing, and this process removes it afterwards.
  const profile = mkdtempSync(join(tmpdir(), 'layertracer-chromium-'));
  let context;
  let status;
  try {
    console.log(`browser: ${chromiumVersion(executablePath)} (${executablePath}), ${(js.length / 1024).toFixed(0)} KiB bundle`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let crashed = false;
    page.on('crash', () => (crashed = true));
    page.on('pageerror', (err) => console.log(`  page error: ${err.message}`));
    page.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('[case] ')) {
        const r = JSON.parse(text.slice(7));
        console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.ms} ms)`);
        if (!r.ok) console.log(`       ${r.message.replace(/\n/g, '\n       ')}`);
      } else if (text.startsWith('[adapter] ')) {
        const a = JSON.parse(text.slice(10));
        console.log(
          `browser: adapter ${a.vendor || '?'} / ${a.architecture || '?'} / ${a.device || '?'}${a.description ? ` (${a.description})` : ''}${a.isSoftware ? ', software' : ''}`,
        );
        console.log(`browser: features ${a.features.join(' ') || 'none'}`);
      } else if (verbose || msg.type() === 'error') {
        console.log(`  console.${msg.type()}: ${text}`);
      }
    });
    await page.goto(url);
    try {
      await page.waitForFunction(() => window.__done === true, null, { timeout: timeoutS * 1000, polling: 200 });
    } catch {
      // Fall through: whatever finished is reported, and the missing end counts as a failure.
    }
    const state = crashed
      ? null
      : await page.evaluate(() => ({
          done: window.__done === true,
          results: window.__results ?? [],
          adapter: window.__adapter,
          fatal: window.__fatal,
        }));
    const results = state?.results ?? [];
    const passed = results.filter((r) => r.ok).length;
    const failed = results.length - passed;
    const problems = [];
    if (crashed) problems.push('the page crashed');
    else if (!state.done) problems.push(`the page did not finish within ${timeoutS} s`);
    if (state?.adapter === null) problems.push('no WebGPU adapter in Chromium');
    if (state?.fatal) problems.push(state.fatal);
    if (state?.done && !state.fatal && results.length === 0)
      problems.push(grep ? `no case matches --grep ${grep}` : 'no cases found in test/kernels/*.cases.ts');
    for (const p of problems) console.log(`browser: ERROR: ${p}`);
    console.log(`browser: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Runner-level problems (no adapter, a crash, a timeout) count as failures in the summary line.
    console.log(`Browser: ${passed} passed, ${failed + problems.length} failed`);
    status = failed === 0 && problems.length === 0 ? 0 : 1;
  } finally {
    await context?.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const { values } = parseArgs({
    options: {
      grep: { type: 'string' },
      timeout: { type: 'string', default: '300' },
      verbose: { type: 'boolean', default: false },
    },
  });
  try {
    process.exitCode = await runBrowserTests({ grep: values.grep, timeoutS: Number(values.timeout), verbose: values.verbose });
  } catch (err) {
    console.error(`browser: ${err instanceof Error ? err.stack : err}`);
    console.log('Browser: 0 passed, 1 failed');
    process.exitCode = 1;
  }
}
