// Chromium flags for every headless browser run (run.mjs, the page and API tests, the packed-package test,
// web/screenshot.mjs), each for a reason. See run.mjs's header for why the adapter is pinned to SwiftShader.
export const CHROMIUM_ARGS = [
  // WebGPU on Linux is still behind this switch (Chrome ships it by default only on some platforms).
  '--enable-unsafe-webgpu',
  // No GPU here: allow the SwiftShader software adapter (Playwright also adds this in headless mode;
  // stated so the runner does not depend on that default).
  '--enable-unsafe-swiftshader',
  // Pin the adapter so results do not depend on which GPU a machine has.
  ...(process.env.LAYERTRACER_BROWSER_ADAPTER === 'default' ? [] : ['--use-webgpu-adapter=swiftshader']),
  // Running as root in a container: the setuid/namespace sandboxes are unavailable.
  '--no-sandbox',
  '--disable-gpu-sandbox',
  // Quiet, reproducible startup: no first-run UI, no network chatter, no component or sync updates.
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often give /dev/shm 64 MiB; large readbacks must not crash the renderer.
  '--disable-dev-shm-usage',
];

/** Debian's Chromium unless CHROMIUM_PATH says otherwise. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
