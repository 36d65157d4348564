import source from '../../shaders/fma_ceiling.wgsl?raw';
import type { Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';

const fmaCeiling = defineKernel('fma_ceiling', source);

const WG = 64;
/** Per loop iteration of one invocation: 4 vec4 chains x 8 FMAs x 4 lanes x 2 FLOPs (mul + add). */
const FLOPS_PER_ITER = 4 * 8 * 4 * 2;
/** Enough workgroups to keep every CPU thread of a software adapter (and a small GPU) busy. */
const DEFAULT_WORKGROUPS = 256;

export interface FmaCeilingOptions {
  /** Wall time one timed run should take; long enough that submit/finish overhead is noise. */
  targetMs?: number;
  /** Timed runs; the best one is the ceiling (interference only ever slows a run down). */
  runs?: number;
  workgroups?: number;
  /**
   * CPU time of this process in ms (Node: from process.cpuUsage). When given, each timed run also
   * records the CPU time it took: on a software adapter that shows the throughput per core even
   * when other jobs share the machine.
   */
  cpuClock?: () => number;
}

export interface FmaCeilingResult {
  gflops: number;
  /** Wall time of each timed run (dispatch + finish), ms. */
  runsMs: number[];
  /** CPU time of each timed run, ms, when a `cpuClock` was given. */
  runsCpuMs?: number[];
  /** FLOPs per CPU-second of the run with the least CPU time, when a `cpuClock` was given. */
  gflopsPerCpuSecond?: number;
  flopsPerRun: number;
  iters: number;
  workgroups: number;
}

/** FLOPs of one ceiling dispatch. */
export function fmaCeilingFlops(workgroups: number, iters: number): number {
  return workgroups * WG * iters * FLOPS_PER_ITER;
}

/**
 * Encodes one ceiling dispatch writing into `out` (>= workgroups * 64 f32). With iters = 0 it is an
 * empty kernel: the bench uses that to measure the fixed cost of a dispatch + finish.
 */
export function dispatchFmaCeiling(e: Engine, out: Tensor, workgroups: number, iters: number): void {
  e.dispatch({
    kernel: fmaCeiling,
    entry: 'main',
    bindings: { out },
    // |mul| < 1 keeps every chain bounded and away from denormals.
    params: { iters, mul: 0.9990234375, add: 0.0009765625 },
    workgroups: [workgroups, 1, 1],
    constants: { WG },
  });
}

async function timeOnce(e: Engine, out: Tensor, workgroups: number, iters: number): Promise<number> {
  const t0 = performance.now();
  dispatchFmaCeiling(e, out, workgroups, iters);
  await e.finish();
  return performance.now() - t0;
}

/**
 * Measures the adapter's FMA throughput in GFLOP/s with a register-only kernel, sizing the
 * dispatch so that one run takes about `targetMs`. Returns the detail of the runs too.
 */
export async function measureFmaCeilingDetailed(e: Engine, options: FmaCeilingOptions = {}): Promise<FmaCeilingResult> {
  const targetMs = options.targetMs ?? 200;
  const runs = Math.max(1, options.runs ?? 3);
  const workgroups = options.workgroups ?? DEFAULT_WORKGROUPS;
  const out = e.empty([workgroups * WG], 'f32', 'fma_ceiling.out');
  try {
    // Compile, then grow the loop until a run is long enough to extrapolate from.
    let iters = 64;
    await timeOnce(e, out, workgroups, iters);
    let ms = await timeOnce(e, out, workgroups, iters);
    while (ms < targetMs / 8 && iters < 1 << 24) {
      iters *= 4;
      ms = await timeOnce(e, out, workgroups, iters);
    }
    iters = Math.max(1, Math.min(1 << 26, Math.round((iters * targetMs) / Math.max(ms, 1e-3))));
    const runsMs: number[] = [];
    const runsCpuMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const cpu0 = options.cpuClock?.();
      runsMs.push(await timeOnce(e, out, workgroups, iters));
      if (cpu0 !== undefined) runsCpuMs.push(options.cpuClock!() - cpu0);
    }
    const flopsPerRun = fmaCeilingFlops(workgroups, iters);
    const best = Math.min(...runsMs);
    const result: FmaCeilingResult = { gflops: flopsPerRun / (best * 1e6), runsMs, flopsPerRun, iters, workgroups };
    if (runsCpuMs.length) {
      result.runsCpuMs = runsCpuMs;
      result.gflopsPerCpuSecond = flopsPerRun / (Math.min(...runsCpuMs) * 1e6);
    }
    return result;
  } finally {
    out.release();
  }
}

/** The adapter's FMA ceiling in GFLOP/s (best of a few ~200 ms runs). */
export async function measureFmaCeiling(e: Engine, options: FmaCeilingOptions = {}): Promise<number> {
  return (await measureFmaCeilingDetailed(e, options)).gflops;
}
