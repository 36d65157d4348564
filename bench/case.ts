import type { Engine } from '../src/gpu/engine.js';

/** What `setup` hands the harness: a closure to time, and what to free afterwards. */
export interface BenchInstance {
  /**
   * Encodes the op once (dispatches only, no readback). The harness times `run()` + `engine.finish()`.
   * Outputs are released inside `run` so the pool hands the same buffers back on the next run.
   */
  run(): void;
  /** Releases the inputs allocated by `setup`. */
  cleanup(): void;
  /** Shown beside the case name, e.g. the kernel variant the engine picked for this adapter. */
  note?: string;
}

/** Thrown by `setup` when this adapter cannot run the case (a variant needing a missing feature). */
export class CaseUnsupported extends Error {
  override name = 'CaseUnsupported';
}

/** One row of the benchmark grid. */
export interface BenchCase {
  /** Unique, greppable: `<op> <model.layer> <geometry> N=<batch>`; `--filter` matches it. */
  name: string;
  /** The kernel entry point measured, e.g. `conv2d.forward`. */
  op: string;
  /** Which src/kernels module provides it; a case is skipped while that module is missing. */
  module: string;
  /** Batch size, or null where the op has no batch dimension (a plain matmul). */
  batch: number | null;
  /** Tensor shapes by role (x, w, y, ...), for the report. */
  shapes: Record<string, readonly number[]>;
  /** Part of the `--quick` subset. */
  quick: boolean;
  /** Floating-point operations of one run (a multiply-add counts 2). */
  flops(): number;
  /** Minimum DRAM traffic of one run: every input read once, every output written once. */
  bytes(): number;
  /** Allocates and uploads inputs (untimed) and returns the closure to time. */
  setup(engine: Engine): Promise<BenchInstance>;
}
