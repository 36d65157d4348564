import type { Engine } from '../../src/gpu/engine.js';

/**
 * A kernel check that runs the same way under vitest (Node, Dawn) and in headless Chromium
 * (test/browser): `run` throws an Error carrying the worst difference when the GPU disagrees with
 * the CPU reference.
 */
export interface KernelCase {
  name: string;
  run(engine: Engine): Promise<void>;
}

/** Throws unless `fn` throws an error whose message matches `re` (plain Error: runs in browsers too). */
export function expectThrow(fn: () => unknown, re: RegExp): void {
  let message = '';
  try {
    fn();
  } catch (err) {
    message = (err as Error).message;
  }
  if (!re.test(message)) throw new Error(`expected an error matching ${re}, got ${message ? `"${message}"` : 'no error'}`);
}

/** Every case must give back what it allocates: long attribution runs depend on the ops not leaking. */
export function leakChecked(cases: KernelCase[]): KernelCase[] {
  return cases.map((c) => ({
    name: c.name,
    async run(e: Engine) {
      const before = e.pool.stats.liveBytes;
      await c.run(e);
      const leaked = e.pool.stats.liveBytes - before;
      if (leaked !== 0) throw new Error(`${c.name}: ${leaked} bytes of tensors not released`);
    },
  }));
}
