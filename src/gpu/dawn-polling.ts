/**
 * Node-only: keeps dawn.node's event polling from taking a CPU core away from a software adapter.
 *
 * While any WebGPU promise is pending (mapAsync, onSubmittedWorkDone, popErrorScope), dawn.node
 * re-arms itself with `setImmediate(nativeTick)` after every tick: the main thread spins for as long
 * as the GPU works. On lavapipe the "GPU" is this process's worker threads, so on a 2-core machine the
 * spin leaves the kernels about two thirds of the CPU (measured: the FMA ceiling rises ~1.5x without it).
 *
 * dawn.node looks `setImmediate` up on the global object at every tick, so a wrapper installed there
 * can pace it: once a wait has spun for 0.25 ms, each further tick first sleeps 0.1 ms (Atomics.wait
 * blocks the thread without using the CPU). A short readback keeps its latency, a long wait ends at
 * most 0.1 ms late, and the event loop is never blocked for longer than 0.1 ms at a time. The engine
 * marks where its waits start (`dawnWaitStarts`). Only dawn's ticks are paced (see `isDawnTick`);
 * every other call goes to the original `setImmediate` untouched.
 */

type Immediate = typeof setImmediate;

const SLEEP_MS = 0.1;
const EAGER_MS = 0.25;

let original: Immediate | null = null;
let waitStart = 0;

/**
 * dawn.node's tick: a native function made through N-API (length 0, with its own `prototype`), passed
 * without arguments. Built-ins handed to setImmediate (a promise's resolve) have no `prototype`.
 */
function isDawnTick(fn: unknown, args: unknown[]): boolean {
  return (
    typeof fn === 'function' &&
    args.length === 0 &&
    fn.length === 0 &&
    Object.prototype.hasOwnProperty.call(fn, 'prototype') &&
    /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn))
  );
}

/** The engine is about to wait on the GPU: the next ticks run at full speed for a moment. */
export function dawnWaitStarts(): void {
  waitStart = performance.now();
}

/** Installs the pacing wrapper on `globalThis.setImmediate` (once per process). */
export function paceDawnPolling(): void {
  if (original) return;
  const g = globalThis as { setImmediate: Immediate };
  const orig = g.setImmediate;
  original = orig;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const paced = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (isDawnTick(fn, args) && performance.now() - waitStart > EAGER_MS) Atomics.wait(sleeper, 0, 0, SLEEP_MS);
    return orig.call(this, fn as never, ...(args as []));
  } as Immediate;
  g.setImmediate = Object.assign(paced, { __promisify__: orig.__promisify__ });
}
