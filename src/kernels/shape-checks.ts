import { formatShape, KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';

export function assertRank(kernel: string, name: string, t: Tensor, rank: number): void {
  if (t.rank !== rank) {
    throw new KernelInputError(`${kernel}: ${name} must have rank ${rank}, got ${formatShape(t.shape)}`);
  }
}

export function assertSameShape(kernel: string, a: [string, Tensor], b: [string, Tensor]): void {
  if (a[1].shape.length !== b[1].shape.length || a[1].shape.some((d, i) => d !== b[1].shape[i])) {
    throw new KernelInputError(
      `${kernel}: ${a[0]} ${formatShape(a[1].shape)} and ${b[0]} ${formatShape(b[1].shape)} must have the same shape`,
    );
  }
}

export function assertDType(kernel: string, name: string, t: Tensor, dtype: Tensor['dtype']): void {
  if (t.dtype !== dtype) {
    throw new KernelInputError(`${kernel}: ${name} must be ${dtype}, got ${t.dtype} ${formatShape(t.shape)}`);
  }
}

export function assertShapeEquals(kernel: string, name: string, t: Tensor, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new KernelInputError(`${kernel}: ${name} must have shape ${formatShape(expected)}, got ${formatShape(t.shape)}`);
  }
}

/** A shape given as numbers (e.g. the input shape a backward kernel reconstructs): (N, C, H, W), all positive integers. */
export function assertShape4d(kernel: string, name: string, shape: readonly number[]): void {
  if (shape.length !== 4) {
    throw new KernelInputError(`${kernel}: ${name} must have rank 4 (N, C, H, W), got ${formatShape(shape)}`);
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new KernelInputError(`${kernel}: ${name} ${formatShape(shape)} has a zero-size or non-integer dimension`);
  }
}
