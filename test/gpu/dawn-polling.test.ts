import { describe, expect, it } from 'vitest';
import { dawnWaitStarts, paceDawnPolling } from '../../src/gpu/dawn-polling.js';
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

  it('still resolves GPU waits: a readback and a finish after a long-enough kernel', async () => {
    dawnWaitStarts();
    const t = engine.upload(new Float32Array([1, 2, 3]), [3]);
    expect(Array.from(await engine.read(t))).toEqual([1, 2, 3]);
    await engine.finish();
    t.release();
  });
});
