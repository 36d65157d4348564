/**
 * Generated at bundle time (test/kernels/case-files-plugin.mjs, for test/browser/run.mjs and
 * tools/device-run/) from the files in test/kernels/ whose names end in `.cases.ts` (sorted), so a new
 * case table is picked up without editing any list.
 */
declare module 'virtual:kernel-case-files' {
  const files: { file: string; module: Record<string, unknown> }[];
  export default files;
}
