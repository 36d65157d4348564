#!/usr/bin/env node
// Bundles one TypeScript entry with the project's Node build options and runs it:
//   node tools/run-ts.mjs [--node-flag=...]... tools/fuzz/main.ts [args...]
// Used by `npm run fuzz` and `npm run soak`, which are scripts, not library code.
import { spawnSync } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { nodeOptions, ROOT } from './build.mjs';

const args = process.argv.slice(2);
const nodeFlags = [];
while (args[0]?.startsWith('--node-flag=')) nodeFlags.push(args.shift().slice('--node-flag='.length));
const entry = args.shift();
if (!entry) {
  console.error('usage: node tools/run-ts.mjs [--node-flag=FLAG]... ENTRY.ts [args...]');
  process.exit(2);
}
const outfile = resolve(ROOT, 'dist', 'tools', `${basename(dirname(entry))}-${basename(entry, '.ts')}.js`);
await esbuild.build(nodeOptions(entry, outfile));
const run = spawnSync(process.execPath, [...nodeFlags, outfile, ...args], { stdio: 'inherit', cwd: ROOT });
process.exit(run.status ?? 1);
