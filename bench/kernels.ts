/**
 * The kernel modules the grid measures, loaded lazily so that a module that does not exist yet
 * (or fails to load) skips its cases instead of stopping the benchmark.
 *
 * Each `import()` sits directly inside a `try`: esbuild then leaves an unresolvable path for run
 * time instead of failing the bundle, and the catch turns the failure into `KernelUnavailable`.
 * Once the file exists esbuild bundles it like any other import.
 */

export class KernelUnavailable extends Error {
  override name = 'KernelUnavailable';
  constructor(
    readonly module: string,
    /** True when the file is missing; false when it exists but failed to load (a real error). */
    readonly missing: boolean,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(missing ? `not available yet: ${module} (src/kernels/${module}.ts)` : `src/kernels/${module}.ts failed to load: ${detail}`, {
      cause,
    });
  }
}

function unavailable(module: string, err: unknown): never {
  const text = err instanceof Error ? `${(err as { code?: string }).code ?? ''} ${err.message}` : String(err);
  const missing = /ERR_MODULE_NOT_FOUND|Cannot find module|Failed to (load|fetch)|Could not resolve/i.test(text);
  throw new KernelUnavailable(module, missing, err);
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= load());
}

export const kernels = {
  relu: once(async () => {
    try {
      return await import('../src/kernels/relu.js');
    } catch (err) {
      return unavailable('relu', err);
    }
  }),
  conv2d: once(async () => {
    try {
      return await import('../src/kernels/conv2d.js');
    } catch (err) {
      return unavailable('conv2d', err);
    }
  }),
  pool: once(async () => {
    try {
      return await import('../src/kernels/pool.js');
    } catch (err) {
      return unavailable('pool', err);
    }
  }),
  channelAffine: once(async () => {
    try {
      return await import('../src/kernels/channel-affine.js');
    } catch (err) {
      return unavailable('channel-affine', err);
    }
  }),
  elementwise: once(async () => {
    try {
      return await import('../src/kernels/elementwise.js');
    } catch (err) {
      return unavailable('elementwise', err);
    }
  }),
  softmax: once(async () => {
    try {
      return await import('../src/kernels/softmax.js');
    } catch (err) {
      return unavailable('softmax', err);
    }
  }),
  resize: once(async () => {
    try {
      return await import('../src/kernels/resize.js');
    } catch (err) {
      return unavailable('resize', err);
    }
  }),
  matmul: once(async () => {
    try {
      return await import('../src/kernels/matmul.js');
    } catch (err) {
      return unavailable('matmul', err);
    }
  }),
};

export type KernelModuleName = keyof typeof kernels;

/** File name (under src/kernels) of each loader, for messages and the report. */
export const MODULE_FILES: Record<KernelModuleName, string> = {
  relu: 'relu',
  conv2d: 'conv2d',
  pool: 'pool',
  channelAffine: 'channel-affine',
  elementwise: 'elementwise',
  softmax: 'softmax',
  resize: 'resize',
  matmul: 'matmul',
};
