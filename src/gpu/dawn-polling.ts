/**
 * Node-only: keeps dawn.node's event polling from taking a CPU core away from a software adapter.
 *
 * While any WebGPU promise is pending (mapAsync, onSubmittedWorkDone, popErrorScope), dawn.node
 * re-arms itself with `setImmediate(nativeTick)` after every tick: the main thread spins for as long
 * as the GPU works. On lavapipe the "GPU" is this process's worker threads, so on a 2-core machine the
 * spin leaves the kernels about two thirds of the CPU (measured: the FMA ceiling rises ~1.5x without it).
 *
 * dawn.node looks `setImmediate` up on the global object at every tick, so a wrapper installed there
 * can pace it: once a wait has spun for 0.25 ms, each further tick first sleeps (Atomics.wait blocks the
 * thread without using the CPU) for a twentieth of the time waited so far, at least 0.1 ms and at most
 * 1 ms. A short readback keeps its latency, a wait ends at most 5 % (and 1 ms) late, and the event loop
 * is never blocked for longer than 1 ms at a time. Each wake costs CPU the kernels would have had: a
 * fixed 0.1 ms sleep left a 37 ms CIFAR conv 15 % slower than the growing one (measured in one session,
 * December 2026). The engine marks where its waits start (`dawnWaitStarts`); a tick after a pause in
 * ticking also starts one, for waits the engine does not mark. Only dawn's ticks are paced (see
 * `isDawnTick`); every other call goes to the original `setImmediate` untouched.
 */

type Immediate = typeof setImmediate;

const EAGER_MS = 0.25;
const MIN_SLEEP_MS = 0.1;
const MAX_SLEEP_MS = 1;
/** The sleep before a tick, as a share of the time waited so far. */
const SLEEP_SHARE = 1 / 20;
/** A tick this long after the previous one belongs to a new wait (ticks come at most MAX_SLEEP_MS apart). */
const NEW_WAIT_GAP_MS = 5;

let original: Immediate | null = null;
let waitStart = 0;
let lastTick = -Infinity;

/** How long dawn's next tick sleeps first, `waited` ms into a wait. */
export function tickSleepMs(waited: number): number {
  if (waited <= EAGER_MS) return 0;
  return Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, waited * SLEEP_SHARE));
}

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
    if (isDawnTick(fn, args)) {
      const now = performance.now();
      if (now - lastTick > NEW_WAIT_GAP_MS) waitStart = now;
      const sleep = tickSleepMs(now - waitStart);
      if (sleep > 0) Atomics.wait(sleeper, 0, 0, sleep);
      lastTick = performance.now();
    }
    return orig.call(this, fn as never, ...(args as []));
  } as Immediate;
  g.setImmediate = Object.assign(paced, { __promisify__: orig.__promisify__ });
}
