/**
 * Per-dispatch GPU timing for `engine.profile(fn)`.
 *
 * With `timestamp-query` every dispatch runs in a compute pass of its own whose beginning and end write
 * GPU timestamps; each submitted batch resolves its queries into a readback buffer, read once the
 * profiled function is done. Without the feature (or with `mode: 'fence'`) every dispatch is submitted
 * alone and timed by when the queue reports it done: on a CPU adapter the gap between two completions
 * is the second dispatch's run time, give or take the event-polling granularity (0.1 ms in Node).
 *
 * Each record carries what the issuing op said about itself (op, variant, FLOPs), the layer the
 * graph executor was running (`engine.markLayer`), and the bytes its bindings span (every binding
 * read or written once: the minimum traffic).
 */

import type { KernelVariant } from './capabilities.js';

/** How dispatches are timed: GPU timestamp queries, or one submit and fence per dispatch. */
export type ProfileMode = 'timestamps' | 'fence';

/** One profiled dispatch: kernel, op, variant, layer, FLOPs, bytes and GPU time. */
export interface DispatchRecord {
  /** Order of issue within the profile. */
  index: number;
  /** WGSL kernel and entry point, e.g. `conv2d_gemm_sg.wide_s1`. */
  kernel: string;
  /** The op that issued it (`conv2d.forward`); the kernel name for ops that do not say. */
  op: string;
  variant: KernelVariant | null;
  /** Graph layer and pass being run when it was issued (`layer3.1.conv2`, 'forward'), '' outside a graph. */
  layer: string;
  phase: string;
  /** Bindings with their shapes, as in validation messages. */
  shapes: string;
  workgroups: [number, number, number];
  flops: number;
  bytes: number;
  /** GPU start time relative to the profile's first dispatch, and duration, both in ms. */
  startMs: number;
  ms: number;
}

export interface PendingDispatch {
  kernel: string;
  op: string;
  variant: KernelVariant | null;
  layer: string;
  phase: string;
  shapes: string;
  workgroups: [number, number, number];
  flops: number;
  bytes: number;
}

interface Batch {
  /** Indices (into records) of the batch's dispatches, in query-slot order. */
  dispatches: number[];
  readback: GPUBuffer | null;
  /** Fence mode: when the queue reported the batch done, ms on performance.now(). */
  done: Promise<number> | null;
  submittedAt: number;
}

const QUERY_CAPACITY = 1024; // timestamps per query set: 512 dispatches per batch

export class DispatchProfiler {
  readonly mode: ProfileMode;
  private readonly pending: PendingDispatch[] = [];
  private batch: Batch = { dispatches: [], readback: null, done: null, submittedAt: 0 };
  private readonly batches: Batch[] = [];
  private querySet: GPUQuerySet | null = null;
  private resolveBuffer: GPUBuffer | null = null;

  constructor(
    private readonly device: GPUDevice,
    mode: ProfileMode,
  ) {
    this.mode = mode;
    if (mode === 'timestamps') {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: QUERY_CAPACITY, label: 'profile.timestamps' });
      this.resolveBuffer = device.createBuffer({
        size: QUERY_CAPACITY * 8,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
        label: 'profile.resolve',
      });
    }
  }

  /** Dispatches a batch may hold before the engine must submit it. */
  get batchCapacity(): number {
    return this.mode === 'timestamps' ? QUERY_CAPACITY / 2 : 1;
  }

  /** The descriptor of the compute pass that will hold the next dispatch. */
  passDescriptor(): GPUComputePassDescriptor {
    if (!this.querySet) return { label: 'profile.pass' };
    const slot = this.batch.dispatches.length;
    return {
      label: 'profile.pass',
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 },
    };
  }

  dispatched(d: PendingDispatch): void {
    this.batch.dispatches.push(this.pending.length);
    this.pending.push(d);
  }

  /** Called with the batch's encoder just before it is finished and submitted. */
  beforeSubmit(encoder: GPUCommandEncoder): void {
    const n = this.batch.dispatches.length;
    if (!n || !this.querySet || !this.resolveBuffer) return;
    const bytes = n * 2 * 8;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    const readback = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'profile.readback',
    });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, bytes);
    this.batch.readback = readback;
  }

  afterSubmit(queue: GPUQueue): void {
    if (!this.batch.dispatches.length) return;
    this.batch.submittedAt = performance.now();
    if (this.mode === 'fence') this.batch.done = queue.onSubmittedWorkDone().then(() => performance.now());
    this.batches.push(this.batch);
    this.batch = { dispatches: [], readback: null, done: null, submittedAt: 0 };
  }

  /** Reads every batch's times (call after the engine has finished all work) and frees the GPU objects. */
  async collect(): Promise<DispatchRecord[]> {
    const startNs: number[] = new Array(this.pending.length).fill(0);
    const durNs: number[] = new Array(this.pending.length).fill(0);
    try {
      if (this.mode === 'timestamps') {
        for (const b of this.batches) {
          if (!b.readback) continue;
          await b.readback.mapAsync(GPUMapMode.READ);
          const t = new BigUint64Array(b.readback.getMappedRange().slice(0));
          b.readback.unmap();
          b.dispatches.forEach((rec, slot) => {
            startNs[rec] = Number(t[2 * slot]);
            durNs[rec] = Math.max(0, Number(t[2 * slot + 1] - t[2 * slot]));
          });
        }
      } else {
        let prev = -Infinity;
        for (const b of this.batches) {
          const done = await b.done!;
          const start = Math.max(prev, b.submittedAt);
          for (const rec of b.dispatches) {
            startNs[rec] = start * 1e6;
            durNs[rec] = Math.max(0, done - start) * 1e6;
          }
          prev = done;
        }
      }
    } finally {
      this.destroy();
    }
    const t0 = Math.min(...startNs.filter((_, i) => i < this.pending.length));
    return this.pending.map((d, i) => ({ index: i, ...d, startMs: (startNs[i] - t0) / 1e6, ms: durNs[i] / 1e6 }));
  }

  destroy(): void {
    for (const b of this.batches) b.readback?.destroy();
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
    this.querySet = null;
    this.resolveBuffer = null;
  }
}
