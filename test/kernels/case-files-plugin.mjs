// An esbuild plugin that turns `import caseFiles from 'virtual:kernel-case-files'` into one import per
// test/kernels/*.cases.ts (sorted), generated when bundling, so a new case table needs no hand-kept list.
// Used by the headless-Chromium runner (test/browser/run.mjs) and the Node runner for machines without
// the dev dependencies (tools/device-run/).
import { readdirSync } from 'node:fs';

/** The plugin over the case tables in `casesDir`. */
export function kernelCaseFilesPlugin(casesDir) {
  return {
    name: 'kernel-case-files',
    setup(build) {
      build.onResolve({ filter: /^virtual:kernel-case-files$/ }, () => ({ path: 'kernel-case-files', namespace: 'virtual' }));
      build.onLoad({ filter: /.*/, namespace: 'virtual' }, () => {
        const files = readdirSync(casesDir)
          .filter((f) => f.endsWith('.cases.ts'))
          .sort();
        const imports = files.map((f, i) => `import * as m${i} from './${f}';`).join('\n');
        const list = files.map((f, i) => `{ file: ${JSON.stringify(f)}, module: m${i} }`).join(',\n  ');
        return {
          contents: `${imports}\nexport default [\n  ${list}\n];\n`,
          loader: 'js',
          resolveDir: casesDir,
          watchDirs: [casesDir],
        };
      });
    },
  };
}
