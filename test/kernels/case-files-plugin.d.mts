// Types for test/kernels/case-files-plugin.mjs, which TypeScript tests import.
import type { Plugin } from 'esbuild';

/** Resolves `virtual:kernel-case-files` to one import per `*.cases.ts` in `casesDir` (sorted). */
export function kernelCaseFilesPlugin(casesDir: string): Plugin;
