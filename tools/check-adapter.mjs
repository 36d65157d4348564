#!/usr/bin/env node
// Probe for a WebGPU adapter through Dawn (the `webgpu` package), the way the engine will get one.
// Prints one line of adapter info and exits 0; exits 2 when Dawn finds no adapter, 3 when the
// `webgpu` package itself cannot load (not installed, or dawn.node missing a shared library).
// Plain .mjs (no build step) because tools/setup.sh runs it before anything is built.

let webgpu;
try {
  webgpu = await import('webgpu');
} catch (err) {
  console.error(`check-adapter: cannot load the webgpu package: ${err instanceof Error ? err.message : err}`);
  process.exit(3);
}

// dawn.node aborts the process if this object is garbage-collected while in use: hold it to the end.
const gpu = webgpu.create([]);
globalThis.__layertracerGpu = gpu;

const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('check-adapter: Dawn found no WebGPU adapter (no usable Vulkan driver)');
  process.exit(2);
}
const info = adapter.info ?? {};
const limits = adapter.limits;
const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`;
// Creating a device proves more than the adapter list does (a broken ICD can list and then fail).
const device = await adapter.requestDevice();
console.log(
  `adapter: ${info.vendor || '?'} / ${info.architecture || '?'} / ${info.device || '?'} (${info.description || 'no description'}); ` +
    `maxStorageBufferBindingSize ${mib(limits.maxStorageBufferBindingSize)}, maxBufferSize ${mib(limits.maxBufferSize)}; ` +
    `features: ${[...adapter.features].sort().join(' ') || 'none'}`,
);
// Without destroy() the device keeps the event loop alive and the process never exits.
device.destroy();
process.exit(0);
