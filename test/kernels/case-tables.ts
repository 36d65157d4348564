/**
 * The kernel case tables outside vitest (headless Chromium: test/browser/entry.ts; Node on a machine
 * without the dev dependencies: tools/device-run/kernel-cases.ts): collecting them and running them.
 */
import type { Engine } from '../../src/gpu/engine.js';
import type { KernelCase } from './kernel-case.js';

/** A case file as the `virtual:kernel-case-files` module lists it. */
export interface CaseFile {
  file: string;
  module: Record<string, unknown>;
}

function isKernelCase(v: unknown): v is KernelCase {
  return typeof v === 'object' && v !== null && typeof (v as KernelCase).name === 'string' && typeof (v as KernelCase).run === 'function';
}

/**
 * Every exported array of KernelCase in every case file, so new tables need no registration. A case
 * file that exports nothing runnable becomes a failing case: a mistake worth failing on, not a silent pass.
 */
export function collectCases(caseFiles: readonly CaseFile[]): { file: string; c: KernelCase }[] {
  const out: { file: string; c: KernelCase }[] = [];
  for (const { file, module } of caseFiles) {
    let found = 0;
    for (const value of Object.values(module)) {
      if (Array.isArray(value) && value.length > 0 && value.every(isKernelCase)) {
        for (const c of value) out.push({ file, c });
        found += value.length;
      }
    }
    if (found === 0) {
      out.push({
        file,
        c: {
          name: `${file}: exports no KernelCase[]`,
          run: () => Promise.reject(new Error(`${file} exports no array of KernelCase`)),
        },
      });
    }
  }
  return out;
}

/** One case's result: `error` is null when it passed. */
export interface CaseOutcome {
  name: string;
  file: string;
  error: unknown;
  ms: number;
}

/**
 * Runs the cases in order on `engine`, each followed by `engine.finish()` so errors from its last batch
 * surface with it rather than in the next case, and reports every outcome. A failed case may leave an
 * open batch, a lost device or unreleased tensors: the engine is then destroyed and the next case gets
 * a fresh one from `acquire`. The last engine is destroyed at the end.
 */
export async function runCases(
  engine: Engine,
  cases: readonly { file: string; c: KernelCase }[],
  acquire: () => Promise<Engine>,
  report: (outcome: CaseOutcome) => void,
): Promise<void> {
  for (const { file, c } of cases) {
    const t0 = performance.now();
    let error: unknown = null;
    try {
      await c.run(engine);
      await engine.finish();
    } catch (err) {
      error = err;
    }
    report({ name: c.name, file, error, ms: performance.now() - t0 });
    if (error !== null) {
      try {
        engine.destroy();
      } catch {
        // already unusable; the fresh engine below is what matters
      }
      engine = await acquire();
    }
  }
  engine.destroy();
}
