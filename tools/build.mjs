#!/usr/bin/env node
// Builds every bundle with esbuild:
//   dist/node/index.js             the library for Node, from src/node.ts (ESM; webgpu, pngjs, jpeg-js stay external)
//   dist/browser/layertracer.js    the library for browsers, from src/browser.ts (ESM; never reaches webgpu or node:*)
//   dist/cli.js                    the CLI, from src/cli/main.ts when it exists
//   dist/bench/main.js             the benchmark, from bench/main.ts when it exists
//   dist/smoke-demo.js             tools/smoke-demo.ts
//   dist/web/app.js + index.html   the browser page, from web/app.ts and web/index.html (`npm run serve`)
//   dist/types/**.d.ts             type declarations of the public API (tsc, tsconfig.types.json)
//
//   node tools/build.mjs [--quiet] [target...]     targets: node browser cli bench smoke-demo web types,
//                                                  or package (what the npm package ships: node browser cli types);
//                                                  default: all
//
// Scripts that need one bundle build only that one (`npm run demo` builds smoke-demo), so a
// half-written module elsewhere does not stop them.
// Other scripts import the plugins and option sets from here (test/browser/run.mjs does).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Node packages the Node bundles load at run time instead of inlining (native or CommonJS). */
export const NODE_EXTERNALS = ['webgpu', 'pngjs', 'jpeg-js'];

/** `import source from './x.wgsl?raw'` gives the file's text, as Vite/vitest do natively. */
export const rawTextPlugin = {
  name: 'raw-text',
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)),
      namespace: 'raw-text',
    }));
    build.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
      watchFiles: [args.path],
    }));
  },
};

/**
 * Keeps Node-only code out of browser bundles. The runtime imports src/gpu/node-gpu.ts dynamically
 * and only when navigator.gpu is missing; here that import becomes a stub that says so. Anything else
 * that reaches `webgpu`, pngjs, jpeg-js or a node: builtin fails the build and names the importer,
 * rather than producing a bundle that breaks in the browser.
 */
export const browserGuardPlugin = {
  name: 'browser-guard',
  setup(build) {
    build.onResolve({ filter: /(^|\/)node-gpu(\.js|\.ts)?$/ }, () => ({ path: 'node-gpu', namespace: 'browser-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'browser-stub' }, () => ({
      contents:
        'export async function nodeGpu() {\n' +
        "  throw new Error('WebGPU is not available: this browser has no navigator.gpu (Chromium: --enable-unsafe-webgpu; Firefox: dom.webgpu.enabled)');\n" +
        '}\n' +
        'export function dawnWaitStarts() {}\n',
      loader: 'js',
    }));
    const nodeOnly = new RegExp(`^(node:|(${NODE_EXTERNALS.map((p) => p.replace(/[-.]/g, '\\$&')).join('|')})($|/))`);
    build.onResolve({ filter: nodeOnly }, (args) => ({
      errors: [
        {
          text:
            `browser bundle reaches Node-only "${args.path}" (imported by ${relative(ROOT, args.importer)}); ` +
            `the browser entry ${[build.initialOptions.entryPoints]
              .flat()
              .map((e) => relative(ROOT, resolve(ROOT, String(e))))
              .join(', ')} must not pull in Node-only modules ` +
            '(Node-only exports belong in src/node.ts, browser ones in src/browser.ts)',
        },
      ],
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
  absWorkingDir: ROOT,
};

/** Options for a Node bundle (library, CLI, bench, demo). */
export function nodeOptions(entry, outfile) {
  return {
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    target: 'node20',
    external: NODE_EXTERNALS,
    plugins: [rawTextPlugin],
    // esbuild's ESM output for Node has no `require`; CommonJS code paths inside bundled deps need one.
    banner: { js: "import { createRequire as __ltCreateRequire } from 'node:module'; const require = __ltCreateRequire(import.meta.url);" },
  };
}

/** Options for a browser bundle (library, browser tests). */
export function browserOptions(entry, outfile) {
  return {
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'browser',
    // WebGPU shipped in Chrome 113; ES2022 is well inside what those browsers run.
    target: 'es2022',
    plugins: [rawTextPlugin, browserGuardPlugin],
  };
}

export const TARGETS = ['node', 'browser', 'cli', 'bench', 'smoke-demo', 'web', 'types'];

/** What `npm pack` ships (package.json's prepack builds it). */
export const PACKAGE_TARGETS = ['node', 'browser', 'cli', 'types'];

/** Entry declarations of the package (package.json exports), and what each needs from outside it. */
const TYPE_ENTRIES = ['index.d.ts', 'node.d.ts', 'browser.d.ts'];
const TYPE_ENTRY_HEADER = [
  // GPUDevice, GPUBuffer, ... in the engine's public types.
  '/// <reference types="@webgpu/types" />',
  // Blob, Response, canvases and images, and the DOM types @webgpu/types itself refers to.
  '/// <reference lib="dom" />',
  // [Symbol.dispose] on models, engines and tensors.
  '/// <reference lib="esnext.disposable" />',
  '',
].join('\n');

/**
 * dist/types from tsconfig.types.json: a fresh emit (no declarations of deleted modules left behind),
 * then the entry files get the references a consumer's compiler needs to check them on its own.
 */
async function buildTypes() {
  const out = resolve(ROOT, 'dist/types');
  await rm(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', resolve(ROOT, 'tsconfig.types.json')], { cwd: ROOT });
  } catch (err) {
    // tsc prints its diagnostics on stdout.
    throw new Error(`type declarations failed:\n${err.stdout || err.message}`, { cause: err });
  }
  for (const entry of TYPE_ENTRIES) {
    const path = resolve(out, entry);
    await writeFile(path, TYPE_ENTRY_HEADER + (await readFile(path, 'utf8')));
  }
}

export async function buildAll({ quiet = false, targets = TARGETS } = {}) {
  const log = quiet ? () => {} : (msg) => console.log(`build: ${msg}`);
  const expanded = targets.flatMap((t) => (t === 'package' ? PACKAGE_TARGETS : [t]));
  const unknown = expanded.filter((t) => !TARGETS.includes(t));
  if (unknown.length) throw new Error(`unknown target ${unknown.join(', ')}; targets are ${TARGETS.join(', ')}, package`);
  const want = new Set(expanded);
  const started = performance.now();

  const jobs = [];
  if (want.has('node')) jobs.push(['dist/node/index.js', nodeOptions('src/node.ts', 'dist/node/index.js')]);
  if (want.has('browser')) jobs.push(['dist/browser/layertracer.js', browserOptions('src/browser.ts', 'dist/browser/layertracer.js')]);
  if (want.has('web')) jobs.push(['dist/web/app.js', browserOptions('web/app.ts', 'dist/web/app.js')]);
  if (want.has('smoke-demo')) jobs.push(['dist/smoke-demo.js', nodeOptions('tools/smoke-demo.ts', 'dist/smoke-demo.js')]);
  if (want.has('cli')) {
    if (existsSync(resolve(ROOT, 'src/cli/main.ts'))) jobs.push(['dist/cli.js', nodeOptions('src/cli/main.ts', 'dist/cli.js')]);
    else log('note: src/cli/main.ts does not exist yet; dist/cli.js skipped');
  }
  if (want.has('bench')) {
    if (existsSync(resolve(ROOT, 'bench/main.ts'))) jobs.push(['dist/bench/main.js', nodeOptions('bench/main.ts', 'dist/bench/main.js')]);
    else if (expanded.length === 1) throw new Error('bench/main.ts does not exist yet');
    else log('note: bench/main.ts does not exist yet; dist/bench/main.js skipped');
    // Method-level benchmarks: bench/<name>.bench.ts -> dist/bench/<name>.js
    for (const f of readdirSync(resolve(ROOT, 'bench')).filter((n) => n.endsWith('.bench.ts'))) {
      const out = `dist/bench/${f.replace(/\.bench\.ts$/, '.js')}`;
      jobs.push([out, nodeOptions(`bench/${f}`, out)]);
    }
  }

  // tsc runs in its own process, alongside the bundles.
  const types = want.has('types') ? buildTypes().then(() => log('dist/types (declarations) from tsconfig.types.json')) : null;
  const results = await Promise.allSettled(jobs.map(([, options]) => esbuild.build({ ...options, metafile: true })));
  const typesResult =
    types &&
    (await types.then(
      () => null,
      (err) => err,
    ));
  if (typesResult) console.error(typesResult.message);
  const failed = typesResult ? ['dist/types'] : [];
  results.forEach((r, i) => {
    const [out, options] = jobs[i];
    if (r.status === 'fulfilled') {
      const bytes = r.value.metafile.outputs[out]?.bytes ?? 0;
      log(`${out} (${(bytes / 1024).toFixed(0)} KiB) from ${options.entryPoints[0]}`);
    } else {
      // esbuild has already printed the errors with file and line.
      failed.push(out);
    }
  });
  if (failed.length) throw new Error(`build failed: ${failed.join(', ')}`);
  if (want.has('web')) {
    // The page's HTML (with its CSS) is static: copied beside the bundle.
    await mkdir(resolve(ROOT, 'dist/web'), { recursive: true });
    await copyFile(resolve(ROOT, 'web/index.html'), resolve(ROOT, 'dist/web/index.html'));
    log('dist/web/index.html from web/index.html');
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const args = process.argv.slice(2);
    const targets = args.filter((a) => !a.startsWith('--'));
    await buildAll({ quiet: args.includes('--quiet'), targets: targets.length ? targets : TARGETS });
  } catch (err) {
    console.error(`build: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
