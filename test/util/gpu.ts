import { afterAll } from 'vitest';
import { acquireEngine } from '../../src/gpu/acquire.js';
import type { Engine } from '../../src/gpu/engine.js';

let enginePromise: Promise<Engine> | null = null;

/** One engine per test file (vitest runs files in separate processes); destroyed after the file. */
export function testEngine(): Promise<Engine> {
  if (!enginePromise) {
    enginePromise = acquireEngine();
    afterAll(async () => (await enginePromise!).destroy());
  }
  return enginePromise;
}
