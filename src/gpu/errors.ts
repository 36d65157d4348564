/** Errors raised by the GPU runtime. Each names the kernel (or operation) and what to do. */

export class GpuError extends Error {
  override name = 'GpuError';
}

/** A WGSL module failed to compile or a pipeline failed to build. */
export class KernelCompileError extends GpuError {
  override name = 'KernelCompileError';
}

/** A kernel was called with shapes, dtypes or sizes it cannot handle. */
export class KernelInputError extends GpuError {
  override name = 'KernelInputError';
}

/** Something the adapter cannot do: a buffer over a limit, a missing feature. */
export class GpuLimitError extends GpuError {
  override name = 'GpuLimitError';
}

/** The device was lost (driver reset, destroy, out of memory). */
export class DeviceLostError extends GpuError {
  override name = 'DeviceLostError';
}

/** A shape as `[a, b, c]`, as error messages print it. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A byte count in B, KiB, MiB or GiB, as error messages print it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}
