/**
 * The kernel case tables (test/kernels/*.cases.ts) under Node without vitest: for a machine that has a
 * GPU but not the dev dependencies (tools/device-run/pack.mjs bundles this file). Prints the adapter,
 * every failure with its worst difference, slow cases, and `Kernel cases on ADAPTER: N passed, M failed`.
 *
 *   node kernel-cases.js [REGEX]     exit status 0 when every selected case passed, 1 otherwise
 */
import caseFiles from 'virtual:kernel-case-files';
import { acquireEngine } from '../../src/gpu/acquire.js';
import { collectCases, runCases } from '../../test/kernels/case-tables.js';

const grep = process.argv[2] ? new RegExp(process.argv[2]) : null;
const cases = collectCases(caseFiles).filter(({ c }) => !grep || grep.test(c.name));
const engine = await acquireEngine();
const adapter = engine.adapter;
console.log(`[adapter] ${JSON.stringify(adapter)}`);
const failed: string[] = [];
const t0 = performance.now();
await runCases(
  engine,
  cases,
  () => acquireEngine(),
  ({ name, file, error, ms }) => {
    if (error !== null) {
      const message = `${file} | ${name}: ${(error as Error).message ?? String(error)}`;
      failed.push(message);
      console.log(`[FAIL] ${message}`);
    }
    if (ms > 2000) console.log(`[slow] ${name}: ${ms.toFixed(0)} ms`);
  },
);
const seconds = ((performance.now() - t0) / 1000).toFixed(1);
console.log(`Kernel cases on ${adapter.description}: ${cases.length - failed.length} passed, ${failed.length} failed, ${seconds} s`);
process.exit(failed.length || !cases.length ? 1 : 0);
