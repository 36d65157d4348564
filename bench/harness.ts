/**
 * Times one case: setup (untimed), a first run that includes pipeline creation and shader compile,
 * then warm runs, each one dispatch + `await engine.finish()`, until there are enough samples and
 * enough time, or the per-case cap is reached.
 *
 * Two timers: `wall` (the run's dispatch + finish by the host clock) and `gpu` (the sum of the run's
 * dispatches by GPU timestamp queries). On a software adapter the kernels run on the host's cores and
 * wall time is what they cost; on a real GPU one submit + finish costs 0.1-0.2 ms, more than most of
 * these kernels, so only the timestamps see the kernel.
 */
import type { Engine } from '../src/gpu/engine.js';
import { dispatchFmaCeiling, measureFmaCeilingDetailed, type FmaCeilingResult } from '../src/kernels/fma-ceiling.js';
import { CaseUnsupported, type BenchCase, type BenchInstance } from './case.js';
import { KernelUnavailable } from './kernels.js';
import { summarise, type Summary } from './stats.js';

export interface TimingOptions {
  /** Warm runs wanted at least ... */
  minRuns: number;
  /** ... and at least this much warm time, seconds. */
  minSeconds: number;
  /**
   * Cap on warm time per case, seconds: past it no new run starts once there are 3 runs (or 1 run
   * when a single run is longer than the cap).
   */
  maxCaseSeconds: number;
  /** What a sample measures (see the top of this file). */
  timer: Timer;
}

export const DEFAULT_TIMING: TimingOptions = { minRuns: 5, minSeconds: 0.5, maxCaseSeconds: 2, timer: 'wall' };

/** `wall`: dispatch + finish by the host clock; `gpu`: the run's dispatches by GPU timestamps. */
export type Timer = 'wall' | 'gpu';

/** `auto` picks GPU timestamps on a hardware adapter that has them, wall time on a software one. */
export function chooseTimer(e: Engine, asked: Timer | 'auto'): Timer {
  if (asked === 'gpu' && !e.capabilities.timestamps) throw new Error("--timer gpu: this adapter has no 'timestamp-query' feature");
  if (asked !== 'auto') return asked;
  return !e.adapter.isSoftware && e.capabilities.timestamps ? 'gpu' : 'wall';
}

export type CaseStatus = 'ok' | 'unavailable' | 'unsupported' | 'failed';

export interface CaseResult {
  name: string;
  op: string;
  module: string;
  batch: number | null;
  shapes: Record<string, readonly number[]>;
  flops: number;
  bytes: number;
  status: CaseStatus;
  /** Why the case did not run (unavailable / unsupported / failed). */
  reason?: string;
  /** From the case's setup, e.g. the kernel variant the engine picked. */
  note?: string;
  /** The first run, ms: includes compiling the op's pipelines unless an earlier case built them. */
  firstMs?: number;
  /** Pipelines the first run created (0 when an earlier case already compiled them). */
  newPipelines?: number;
  /** The case was so slow that its compile-free first run is its only sample. */
  firstIsSample?: boolean;
  /** Every warm run, ms, in the order taken. */
  samplesMs: number[];
  /**
   * CPU time this process used during each warm run, ms (Node only; empty elsewhere). On a software
   * adapter the kernel runs on this process's threads, so cpu / wall shows how many cores it got:
   * far below the core count on a machine shared with other jobs.
   */
  cpuMs: number[];
  /** Buffers still live after cleanup: a leak in the op or in its case. */
  leakedBuffers?: number;
}

const cpuUsage = (globalThis as { process?: { cpuUsage?: (prev?: { user: number; system: number }) => { user: number; system: number } } })
  .process?.cpuUsage;

interface Sample {
  /** The sample: wall or GPU ms, by the timer. */
  ms: number;
  /** Host CPU time of the run (wall timer only: with the GPU timer the host's cores do not run the kernel). */
  cpuMs: number | null;
  /** Host time the sample took, which the per-case time budget counts. */
  wallMs: number;
}

async function timedRun(e: Engine, inst: BenchInstance, timer: Timer): Promise<Sample> {
  const c0 = cpuUsage?.();
  const t0 = performance.now();
  if (timer === 'gpu') {
    const p = await e.profile(() => inst.run(), { mode: 'timestamps' });
    const ms = p.dispatches.reduce((sum, d) => sum + d.ms, 0);
    return { ms, cpuMs: null, wallMs: performance.now() - t0 };
  }
  inst.run();
  await e.finish();
  const ms = performance.now() - t0;
  const c = c0 && cpuUsage?.(c0);
  return { ms, cpuMs: c ? (c.user + c.system) / 1000 : null, wallMs: ms };
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Runs one case and returns its samples. Never throws for the case's own failures: an unavailable
 * module or a failing kernel becomes the result's status, so one bad kernel cannot stop the grid.
 * `firstRun` false skips the compile-inclusive first run (later rounds of the same case).
 */
export async function timeCase(e: Engine, c: BenchCase, opts: TimingOptions, firstRun = true): Promise<CaseResult> {
  const result: CaseResult = {
    name: c.name,
    op: c.op,
    module: c.module,
    batch: c.batch,
    shapes: c.shapes,
    flops: c.flops(),
    bytes: c.bytes(),
    status: 'ok',
    samplesMs: [],
    cpuMs: [],
  };
  const liveBefore = e.pool.stats.liveBuffers;
  let inst: BenchInstance | null = null;
  try {
    inst = await c.setup(e);
    if (inst.note) result.note = inst.note;
    await e.finish(); // uploads are not part of any run
    const pipelinesBefore = e.stats.pipelines;
    const first = await timedRun(e, inst, opts.timer);
    if (firstRun) {
      result.firstMs = first.wallMs; // by the host clock whatever the timer: it is the compile being shown
      result.newPipelines = e.stats.pipelines - pipelinesBefore;
    }
    // A first run that compiled nothing (an earlier case built the pipelines) is a warm run in all
    // but name; when it alone passes the cap (VGG layers at batch 8) it is the one sample taken.
    if (firstRun && result.newPipelines === 0 && first.wallMs / 1000 >= opts.maxCaseSeconds) {
      result.samplesMs.push(first.ms);
      if (first.cpuMs !== null) result.cpuMs.push(first.cpuMs);
      result.firstIsSample = true;
    }
    let warm = 0;
    while (!result.firstIsSample) {
      const { ms, cpuMs, wallMs } = await timedRun(e, inst, opts.timer);
      result.samplesMs.push(ms);
      if (cpuMs !== null) result.cpuMs.push(cpuMs);
      warm += wallMs / 1000;
      const n = result.samplesMs.length;
      if (n >= opts.minRuns && warm >= opts.minSeconds) break;
      // Past the cap: stop at 3 runs, or at once when one run is longer than the cap.
      if (warm >= opts.maxCaseSeconds || (n >= 3 && warm + warm / n > opts.maxCaseSeconds)) break;
    }
  } catch (err) {
    if (err instanceof KernelUnavailable) {
      result.status = err.missing ? 'unavailable' : 'failed';
      result.reason = err.message;
    } else {
      result.status = err instanceof CaseUnsupported ? 'unsupported' : 'failed';
      result.reason = err instanceof CaseUnsupported ? err.message : errorText(err);
    }
  } finally {
    try {
      inst?.cleanup();
      await e.finish();
    } catch (err) {
      if (result.status === 'ok') {
        result.status = 'failed';
        result.reason = `cleanup: ${errorText(err)}`;
      }
    }
    // Each case's sizes differ: keep the pool from holding every size the grid has seen.
    e.pool.trim();
  }
  const leaked = e.pool.stats.liveBuffers - liveBefore;
  if (leaked > 0) result.leakedBuffers = leaked;
  return result;
}

/** The FMA ceiling, with the detail of its runs for the report. */
export async function measureCeiling(e: Engine): Promise<FmaCeilingResult> {
  const cpuClock = cpuUsage
    ? () => {
        const c = cpuUsage();
        return (c.user + c.system) / 1000;
      }
    : undefined;
  return measureFmaCeilingDetailed(e, { targetMs: 200, runs: 5, cpuClock });
}

/**
 * The fixed cost of one timed run: an empty kernel (one workgroup, no loop iterations) dispatched
 * and finished. Cases whose median sits near this are measuring the runtime, not the kernel.
 */
export async function measureFloor(e: Engine, runs = 30): Promise<Summary> {
  const out = e.empty([64], 'f32', 'bench.floor');
  const inst: BenchInstance = { run: () => dispatchFmaCeiling(e, out, 1, 0), cleanup: () => out.release() };
  try {
    await timedRun(e, inst, 'wall');
    const samplesMs: number[] = [];
    for (let i = 0; i < runs; i++) samplesMs.push((await timedRun(e, inst, 'wall')).ms);
    return summarise({ samplesMs, flops: 0, bytes: 0 })!;
  } finally {
    inst.cleanup();
  }
}
