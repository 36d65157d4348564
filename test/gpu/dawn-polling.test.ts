import { describe, expect, it } from 'vitest';
import { dawnWaitStarts, paceDawnPolling, tickSleepMs } from '../../src/gpu/dawn-polling.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();

describe('dawn.node polling pacing', () => {
  it('leaves JavaScript callers of setImmediate alone: arguments passed, no sleep', async () => {
    paceDawnPolling();
    paceDawnPolling(); // idempotent: one wrapper, not a stack of them
    const got = await new Promise<number[]>((resolve) => setImmediate((a: number, b: number) => resolve([a, b]), 1, 2));
    expect(got).toEqual([1, 2]);
    // A paced tick sleeps through Atomics.wait: count the sleeps instead of timing them (no clock in a
    // pass/fail test). JavaScript callbacks and a promise's native resolve are never paced.
    const wait = Atomics.wait;
    let sleeps = 0;
    Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => {
      sleeps++;
      return wait(...args);
    }) as typeof Atomics.wait;
    try {
      for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => setImmediate(() => resolve()));
    } finally {
      Atomics.wait = wait;
    }
    expect(sleeps).toBe(0);
  });

  it('sleeps longer the longer a wait lasts: none at first, then a twentieth of the wait, 0.1 to 1 ms', () => {
    expect(tickSleepMs(0)).toBe(0);
    expect(tickSleepMs(0.2)).toBe(0); // a short readback keeps its latency
    expect(tickSleepMs(0.5)).toBe(0.1);
    expect(tickSleepMs(10)).toBeCloseTo(0.5, 12);
    expect(tickSleepMs(20)).toBe(1);
    expect(tickSleepMs(5000)).toBe(1); // the event loop is never blocked longer
    for (let w = 0.3; w < 100; w *= 1.7) expect(tickSleepMs(w)).toBeLessThanOrEqual(Math.max(0.1, w / 20) + 1e-12);
  });

  it('still resolves GPU waits: a readback and a finish after a long-enough kernel', async () => {
    dawnWaitStarts();
    const t = engine.upload(new Float32Array([1, 2, 3]), [3]);
    expect(Array.from(await engine.read(t))).toEqual([1, 2, 3]);
    await engine.finish();
    t.release();
  });
});
