import { afterAll } from 'vitest';
import { acquireEngine } from '../../src/gpu/acquire.js';
import type { Engine } from '../../src/gpu/engine.js';

let enginePromise: Promise<Engine> | null = null;

/**
 * One engine per test file (vitest runs files in separate processes); destroyed after the file. Its new
 * tensors are filled with NaN, so that an output element a kernel never writes fails the comparison.
 */
export function testEngine(): Promise<Engine> {
  if (!enginePromise) {
    enginePromise = acquireEngine({ poisonEmpty: true });
    afterAll(async () => (await enginePromise!).destroy());
  }
  return enginePromise;
}
