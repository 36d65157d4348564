/**
 * Browser side of the kernel tests: runs every case table in test/kernels/*.cases.ts against an
 * engine acquired through navigator.gpu, with the same acquireEngine() the library uses.
 * test/browser/run.mjs bundles this file, serves it and drives headless Chromium.
 *
 * Reporting: one console line per case (`[case] {json}`) for live progress, and at the end
 * window.__results = [{ name, ok, message, ms }], window.__adapter and window.__done = true.
 * The URL parameter `grep` (a regular expression) selects cases by name.
 */
import caseFiles from 'virtual:kernel-case-files';
import { acquireEngine } from '../../src/gpu/acquire.js';
import type { Engine } from '../../src/gpu/engine.js';
import { collectCases, runCases } from '../kernels/case-tables.js';

export interface CaseResult {
  name: string;
  file: string;
  ok: boolean;
  message: string;
  ms: number;
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isSoftware: boolean;
  features: string[];
  userAgent: string;
}

declare global {
  interface Window {
    __results?: CaseResult[];
    __adapter?: AdapterReport | null;
    __fatal?: string;
    __done?: boolean;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}

function describeAdapter(engine: Engine): AdapterReport {
  return { ...engine.adapter, userAgent: navigator.userAgent };
}

async function main(): Promise<void> {
  const grep = new URLSearchParams(location.search).get('grep');
  const filter = grep ? new RegExp(grep) : null;
  const cases = collectCases(caseFiles).filter(({ c }) => !filter || filter.test(c.name));
  const results: CaseResult[] = [];
  window.__results = results;

  let engine: Engine;
  try {
    // New tensors filled with NaN, as in Node's tests (test/util/gpu.ts): an unwritten output fails.
    engine = await acquireEngine({ poisonEmpty: true });
  } catch (err) {
    window.__adapter = null;
    throw err;
  }
  window.__adapter = describeAdapter(engine);
  console.log(`[adapter] ${JSON.stringify(window.__adapter)}`);

  await runCases(
    engine,
    cases,
    () => acquireEngine({ poisonEmpty: true }),
    ({ name, file, error, ms }) => {
      const result: CaseResult = { name, file, ok: error === null, message: error === null ? '' : errorText(error), ms: Math.round(ms) };
      results.push(result);
      console.log(`[case] ${JSON.stringify(result)}`);
    },
  );
}

window.addEventListener('unhandledrejection', (e) => {
  window.__fatal ??= `unhandled rejection: ${errorText(e.reason)}`;
});

main()
  .catch((err) => {
    window.__fatal = errorText(err);
  })
  .finally(() => {
    window.__done = true;
  });
