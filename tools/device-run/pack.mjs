#!/usr/bin/env node
// Packs what tools/device-run/run.sh needs on a lent GPU machine that has no Node.js, no npm registry
// and no ../shared, into .devrun/ (git-ignored), within the 64 MiB a call may carry beside the tree:
//   node.xz               this Node binary, xz-compressed
//   node_modules.tar.xz   the runtime dependencies the bundles keep external (webgpu's linux-x64 build, pngjs, jpeg-js)
//   *.js                  bundles: bench/main.ts, bench/peers.bench.ts, the CLI, tools/device-run/kernel-cases.ts
//   shared/               the CIFAR-10 ResNet-20 and test images bench:peers reads from ../shared/data/cifar10
//   gl/                   the Vulkan loader and GL vendor libraries (Debian bookworm .debs; the machine has the driver only)
//
//   node tools/device-run/pack.mjs      then, on the machine: bash tools/device-run/run.sh (carry .devrun)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { nodeOptions, ROOT } from '../build.mjs';
import { kernelCaseFilesPlugin } from '../../test/kernels/case-files-plugin.mjs';

const OUT = resolve(ROOT, '.devrun');
const SHARED = resolve(ROOT, '..', 'shared', 'data', 'cifar10');
const CARRY_LIMIT = 64 * 1024 * 1024;
const GL_PACKAGES = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function sizeOf(path) {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : s.size;
}

for (const f of ['resnet20.safetensors', 'test1000.safetensors']) {
  if (!existsSync(join(SHARED, f))) throw new Error(`pack: ${join(SHARED, f)} is missing (bench:peers' RISE row reads it)`);
}
rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'shared'), { recursive: true });
mkdirSync(join(OUT, 'gl'), { recursive: true });

const bundles = [
  ['bench/main.ts', 'main.js', []],
  ['bench/peers.bench.ts', 'peers.js', []],
  ['src/cli/main.ts', 'cli.js', []],
  ['tools/device-run/kernel-cases.ts', 'kernel-cases.js', [kernelCaseFilesPlugin(resolve(ROOT, 'test/kernels'))]],
];
for (const [entry, out, plugins] of bundles) {
  const options = nodeOptions(entry, join(OUT, out));
  await esbuild.build({ ...options, plugins: [...options.plugins, ...plugins], sourcemap: false, logLevel: 'error' });
}

run('sh', ['-c', `xz -T0 -6 -c "${process.execPath}" > "${join(OUT, 'node.xz')}"`]);
const modules = ['webgpu/package.json', 'webgpu/index.js', 'webgpu/dist/linux-x64', 'pngjs', 'jpeg-js'].map((p) => `node_modules/${p}`);
run('tar', ['-cJf', join(OUT, 'node_modules.tar.xz'), ...modules], { cwd: ROOT });
for (const f of ['resnet20.safetensors', 'test1000.safetensors']) copyFileSync(join(SHARED, f), join(OUT, 'shared', f));

// apt's own lists for amd64 in /tmp, so this works on any Debian host without touching its state.
const lists = '/tmp/device-run-apt';
mkdirSync(join(lists, 'partial'), { recursive: true });
const apt = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', `-oDir::State::Lists=${lists}`];
run('apt-get', [...apt, '-qq', 'update']);
run('apt-get', [...apt, '-qq', 'download', ...GL_PACKAGES], { cwd: join(OUT, 'gl') });

const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'buffer' })
  .stdout.toString()
  .split('\0')
  .filter(Boolean)
  .reduce((n, f) => n + (existsSync(join(ROOT, f)) ? statSync(join(ROOT, f)).size : 0), 0);
const packed = sizeOf(OUT);
const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `pack: .devrun ${mib(packed)} + tracked files ${mib(tracked)} = ${mib(packed + tracked)} of the ${mib(CARRY_LIMIT)} a call carries`,
);
if (packed + tracked > CARRY_LIMIT) {
  console.error('pack: over the limit; the call would be refused');
  process.exit(1);
}
