/**
 * Deterministic GPU buffer pool. Buffers come back through explicit release, never the GC.
 * A released buffer becomes reusable only after the commands that may still reference it have been
 * submitted (`onSubmit`), so an upload into a recycled buffer can never race a pending read of it.
 * Byte counters are public so tests can prove a long job does not leak.
 *
 * Which free buffer a request gets is decided by creation order (the oldest of its size class), not by
 * the order of releases: the same sequence of requests from the same pool state gets the same buffers,
 * so a second pass of a model binds exactly what the first did and reuses its bind groups (engine.ts).
 */

import { formatBytes } from './errors.js';

export const TENSOR_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Byte and buffer counters of the engine's buffer pool (`engine.stats.pool`), e.g. to show a loop does not leak. */
export interface PoolStats {
  /** Bytes held by tensors the caller has not released. */
  liveBytes: number;
  /** Bytes in buffers waiting for reuse (free or pending submit). */
  pooledBytes: number;
  /** Peak of liveBytes since the last resetPeak(). */
  peakLiveBytes: number;
  /** GPU buffers created so far, and requests served from the pool. */
  createdBuffers: number;
  reusedBuffers: number;
  liveBuffers: number;
}

/**
 * Size classes bound the waste at 1/8 of a power of two, so reuse is common while a 100 MiB
 * weight does not become a 128 MiB allocation.
 */
export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(min, pow / 8);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  /** Free buffers by size class, newest first, so pop() hands out the oldest. */
  private readonly free = new Map<number, GPUBuffer[]>();
  /**
   * Each buffer's creation index (its age for the reuse order and its id for bind-group keys) and size,
   * kept on the JS side: reading GPUBuffer.size is a call into the native binding.
   */
  private readonly meta = new WeakMap<GPUBuffer, { id: number; size: number }>();
  private pending: GPUBuffer[] = [];
  private readonly live = new Set<GPUBuffer>();
  private readonly stats_: PoolStats = {
    liveBytes: 0,
    pooledBytes: 0,
    peakLiveBytes: 0,
    createdBuffers: 0,
    reusedBuffers: 0,
    liveBuffers: 0,
  };

  constructor(private readonly device: GPUDevice) {}

  /**
   * A buffer of at least `bytes`. Buffers keep the label they were created with (their size class and
   * id): relabelling one on every reuse was a native call per tensor, a tenth of the host's time to
   * encode a ResNet-50 pass, and the tensor's own label lives on the JS side (Storage.label).
   */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.stats_.reusedBuffers++;
      this.stats_.pooledBytes -= size;
    } else {
      const id = this.stats_.createdBuffers;
      buffer = this.device.createBuffer({ size, usage: TENSOR_USAGE, label: `pool buffer ${id} (${formatBytes(size)})` });
      this.meta.set(buffer, { id, size });
      this.stats_.createdBuffers++;
    }
    this.live.add(buffer);
    this.stats_.liveBytes += size;
    this.stats_.liveBuffers++;
    this.stats_.peakLiveBytes = Math.max(this.stats_.peakLiveBytes, this.stats_.liveBytes);
    return buffer;
  }

  /** A buffer of this pool's id, unique for the pool's lifetime (its creation index). */
  idOf(buffer: GPUBuffer): number {
    const m = this.meta.get(buffer);
    if (m === undefined) throw new Error(`buffer "${buffer.label}" is not from this pool`);
    return m.id;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) throw new Error(`buffer "${buffer.label}" released twice or not from this pool`);
    const { size } = this.meta.get(buffer)!;
    this.stats_.liveBytes -= size;
    this.stats_.liveBuffers--;
    this.stats_.pooledBytes += size;
    this.pending.push(buffer);
  }

  /** Called after a submit: everything released before it may now be reused. */
  onSubmit(): void {
    for (const b of this.pending) {
      const { id: age, size } = this.meta.get(b)!;
      const list = this.free.get(size);
      if (!list) {
        this.free.set(size, [b]);
        continue;
      }
      // Binary search for b's place in the newest-first order.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.meta.get(list[mid])!.id > age) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, b);
    }
    this.pending = [];
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.pending) b.destroy();
    this.free.clear();
    this.pending = [];
    this.stats_.pooledBytes = 0;
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
  }

  resetPeak(): void {
    this.stats_.peakLiveBytes = this.stats_.liveBytes;
  }

  get stats(): Readonly<PoolStats> {
    return { ...this.stats_ };
  }
}
