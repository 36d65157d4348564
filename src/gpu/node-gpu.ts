/** Node-only: Dawn through the `webgpu` package. Never imported by the browser bundle. */

let cached: GPU | null = null;

export async function nodeGpu(): Promise<GPU> {
  if (cached) return cached;
  const { create, globals } = await import('webgpu');
  // WebGPU enums (GPUBufferUsage, ...) are globals in a browser; dawn.node hands them over here.
  Object.assign(globalThis, globals);
  // dawn.node aborts the process if this object is garbage-collected: keep it for the process lifetime.
  cached = create([]) as GPU;
  return cached;
}
