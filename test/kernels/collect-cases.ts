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
