/** Node-only: Dawn through the `webgpu` package. Never imported by the browser bundle. */
import { paceDawnPolling } from './dawn-polling.js';

export { dawnWaitStarts } from './dawn-polling.js';

let cached: GPU | null = null;

export async function nodeGpu(): Promise<GPU> {
  if (cached) return cached;
  const { create, globals } = await import('webgpu');
  // WebGPU enums (GPUBufferUsage, ...) are globals in a browser; dawn.node hands them over here.
  Object.assign(globalThis, globals);
  // dawn.node aborts the process if this object is garbage-collected: keep it for the process lifetime.
  // Dawn rounds timestamp queries down to 65.536 us by default (a browser's guard against timing
  // attacks); a profiler of microsecond kernels on a real GPU needs the raw ticks, and Node runs
  // trusted code only.
  cached = create(['disable-dawn-features=timestamp_quantization']) as GPU;
  // For the process lifetime too; LAYERTRACER_DAWN_POLLING=spin keeps dawn.node's own busy polling
  // (to measure what the pacing buys).
  if (process.env.LAYERTRACER_DAWN_POLLING !== 'spin') paceDawnPolling();
  return cached;
}
