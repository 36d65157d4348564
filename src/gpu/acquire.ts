import { Engine, type AdapterDescription, type EngineOptions } from './engine.js';
import { GpuError } from './errors.js';

/** Options of {@link acquireEngine}: the engine's options and which adapter to prefer. */
export interface AcquireOptions extends EngineOptions {
  powerPreference?: GPUPowerPreference;
}

/**
 * One way to get an engine in Node (Dawn via the `webgpu` package) and in a browser (`navigator.gpu`).
 * Requests the adapter's own limits (not the defaults) so large weights fit.
 */
export async function acquireEngine(options: AcquireOptions = {}): Promise<Engine> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  let gpu: GPU;
  let keepAlive: unknown = null;
  let onWait: (() => void) | undefined;
  if (browserGpu) {
    gpu = browserGpu;
  } else {
    // Imported only under Node; the browser bundle never reaches this line.
    const node = await import('./node-gpu.js');
    gpu = await node.nodeGpu();
    keepAlive = gpu;
    onWait = node.dawnWaitStarts;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuError(noAdapterMessage(!browserGpu));
  const features = [...adapter.features] as GPUFeatureName[];
  const wanted: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];
  const device = await adapter.requestDevice({
    label: 'layertracer',
    requiredFeatures: wanted.filter((f) => features.includes(f)),
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: adapter.limits.maxComputeWorkgroupSizeX,
      maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const description: AdapterDescription = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isSoftware: /llvmpipe|lavapipe|swiftshader|software/i.test(`${info?.architecture} ${info?.description} ${info?.device}`),
    features: [...device.features],
  };
  // LAYERTRACER_DUMP_WGSL=1 prints every WGSL module as it compiles (Node; browsers pass the option).
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const dumpShaders = options.dumpShaders ?? env?.LAYERTRACER_DUMP_WGSL === '1';
  return new Engine(device, description, { onWait, ...options, dumpShaders }, keepAlive);
}

function noAdapterMessage(node: boolean): string {
  if (!node)
    return 'This browser exposes navigator.gpu but gave no adapter; enable WebGPU (Chromium: --enable-unsafe-webgpu) or try another browser.';
  return [
    'No WebGPU adapter found. Dawn needs a Vulkan driver.',
    'On Debian, run `bash tools/setup.sh` (as root it installs Mesa lavapipe from bookworm-backports),',
    'or install a Vulkan driver for your GPU (mesa-vulkan-drivers >= 24, or the vendor driver).',
  ].join('\n');
}
