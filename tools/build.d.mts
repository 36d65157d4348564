// Types for the parts of tools/build.mjs that TypeScript tests import.
import type { BuildOptions, Plugin } from 'esbuild';

/** The repository root. */
export const ROOT: string;
/** `import source from './x.wgsl?raw'` gives the file's text. */
export const rawTextPlugin: Plugin;
/** Keeps Node-only code out of browser bundles. */
export const browserGuardPlugin: Plugin;
/** Options for a browser bundle of `entry`. */
export function browserOptions(entry: string, outfile: string): BuildOptions & { plugins: Plugin[] };
/** Options for a Node bundle of `entry`. */
export function nodeOptions(entry: string, outfile: string): BuildOptions & { plugins: Plugin[] };
