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
