import { formatShape, KernelInputError } from './errors.js';
import type { Engine } from './engine.js';
import '../util/dispose-symbol.js';

/** Element type of a {@link Tensor}; every type is 4 bytes. */
export type DType = 'f32' | 'u32' | 'i32';

/** Host-side data of a tensor: the typed array of its {@link DType}. */
export type HostArray = Float32Array | Uint32Array | Int32Array;

/** Number of elements of a shape (the product of its dimensions). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** GPU storage shared by a tensor and its reshaped views. */
export interface Storage {
  buffer: GPUBuffer;
  released: boolean;
  /** What the tensor was made as (e.g. 'conv2d.y'), for messages: pooled buffers keep their own label. */
  label: string;
}

/**
 * A dense row-major (NCHW for images) fp32/u32/i32 array on the GPU.
 * Ownership is explicit: `release()` returns the storage to the engine's pool. Views made by
 * `reshape` share the storage, and releasing any of them releases it.
 */
export class Tensor {
  readonly size: number;

  constructor(
    readonly engine: Engine,
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
  ) {
    this.size = shapeSize(shape);
  }

  get buffer(): GPUBuffer {
    if (this.storage.released) {
      throw new KernelInputError(`tensor ${formatShape(this.shape)} ("${this.storage.label}") used after release()`);
    }
    return this.storage.buffer;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get released(): boolean {
    return this.storage.released;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A view with another shape of the same number of elements; shares storage. */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new KernelInputError(`reshape: cannot view ${formatShape(this.shape)} (${this.size} elements) as ${formatShape(shape)}`);
    }
    return new Tensor(this.engine, this.storage, [...shape], this.dtype);
  }

  release(): void {
    this.engine.release(this);
  }

  /** `using x = engine.upload(...)` releases the tensor at the end of the block. */
  [Symbol.dispose](): void {
    this.release();
  }

  read(): Promise<HostArray> {
    return this.engine.read(this);
  }

  async readF32(): Promise<Float32Array> {
    const data = await this.engine.read(this);
    return data instanceof Float32Array ? data : Float32Array.from(data);
  }

  toString(): string {
    return `Tensor(${this.dtype}${formatShape(this.shape)})`;
  }
}
