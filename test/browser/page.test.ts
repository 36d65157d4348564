/**
 * The browser page end to end: builds it (`node tools/build.mjs web`), serves it with web/serve.mjs on
 * 127.0.0.1, opens it in headless Chromium with WebGPU (SwiftShader, the flags of run.mjs), picks a
 * built-in sample, runs Grad-CAM and saliency, and checks the top-5 list, a non-blank heatmap canvas,
 * the layer control following the method, and that no page error occurred. A second page without
 * navigator.gpu must show how to enable WebGPU.
 *
 * Model: weights/default-resnet.safetensors, else default-vgg, else the shared CIFAR ResNet-20
 * (../shared/data/cifar10, served as a second weights folder).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHARED = resolve(ROOT, '../shared/data/cifar10');
// As test/browser/run.mjs: WebGPU on, SwiftShader pinned, no sandbox (root in a container), quiet startup.
const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  ...(process.env.LAYERTRACER_BROWSER_ADAPTER === 'default' ? [] : ['--use-webgpu-adapter=swiftshader']),
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function pickModel(): { file: string; extraDir?: string } {
  for (const f of ['default-resnet.safetensors', 'default-vgg.safetensors']) if (existsSync(join(ROOT, 'weights', f))) return { file: f };
  if (existsSync(join(SHARED, 'resnet20.safetensors'))) return { file: 'resnet20.safetensors', extraDir: SHARED };
  throw new Error(
    `no model to test with: neither weights/default-resnet.safetensors, weights/default-vgg.safetensors nor ${SHARED}/resnet20.safetensors exists`,
  );
}

function startServer(extraDir?: string): Promise<{ child: ChildProcess; url: string }> {
  const args = [join(ROOT, 'web/serve.mjs'), '--port', '0', ...(extraDir ? ['--weights', extraDir] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`web/serve.mjs did not start within 10 s:\n${out}`)), 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /LayerTracer page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`web/serve.mjs exited with ${code}:\n${out}`));
    });
  });
}

/** Waits for <body data-state> to be one of `states`; on 'error' fails with the page's message. */
async function waitState(page: Page, states: string[], timeout = 40_000): Promise<void> {
  await page.waitForFunction((s) => s.includes(document.body.dataset.state ?? '') || document.body.dataset.state === 'error', states, {
    timeout,
    polling: 100,
  });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === 'error' && !states.includes('error')) expect.fail(`the page shows an error: ${await page.locator('#error').innerText()}`);
}

/** Pixel spread of a canvas: distinct colours and the standard deviation of its grey values. */
function canvasStats(page: Page, id: string) {
  return page.evaluate((canvasId) => {
    const c = document.getElementById(canvasId) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    let sum = 0;
    let sum2 = 0;
    let opaque = 0;
    for (let i = 0; i < d.length; i += 4) {
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      const g = (d[i] + d[i + 1] + d[i + 2]) / 3;
      sum += g;
      sum2 += g * g;
      if (d[i + 3] === 255) opaque++;
    }
    const n = d.length / 4;
    return {
      width: c.width,
      height: c.height,
      colours: colours.size,
      std: Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2)),
      opaque: opaque / n,
    };
  }, id);
}

describe('browser page (web/)', () => {
  const model = pickModel();
  let server: { child: ChildProcess; url: string };
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; run \`bash tools/setup.sh --browser\` or set CHROMIUM_PATH`);
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--quiet', 'web'], { cwd: ROOT, stdio: 'inherit' });
    server = await startServer(model.extraDir);
    profile = mkdtempSync(join(tmpdir(), 'layertracer-page-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 800 },
      timeout: 30_000,
    });
  }, 45_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    server?.child.kill();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it(`explains a built-in sample with Grad-CAM and saliency (${model.file})`, async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console.error: ${m.text()}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(server.url);
    await waitState(page, ['ready']);
    expect(await page.locator('#adapter').innerText()).toMatch(/^GPU: /);

    // The served model is in the menu; choose it (it may already be the default).
    const key = `url:${model.file}`;
    expect(await page.locator('#model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toContain(key);
    if ((await page.locator('#model').inputValue()) !== key) {
      await page.selectOption('#model', key);
      await waitState(page, ['ready']);
    }
    expect(await page.locator('#model-info').innerText()).toMatch(/input \d+×\d+ · \d+ classes/);
    const classes = (await page.locator('#target option').count()) - 1;
    expect(classes).toBeGreaterThanOrEqual(2);

    // Every registry method is offered; the layer menu is filled and follows the method.
    expect(await page.locator('#method option').count()).toBeGreaterThanOrEqual(15);
    expect(await page.locator('#layer option').count()).toBeGreaterThan(3);
    await page.click('#samples button[data-index="1"]');
    expect(await page.locator('#samples button[data-index="1"]').getAttribute('aria-pressed')).toBe('true');

    // Grad-CAM at the default layer for the top-1 class.
    await page.selectOption('#method', 'grad-cam');
    expect(await page.locator('#layer').isEnabled()).toBe(true);
    await page.click('#run');
    await waitState(page, ['done']);
    const top5 = await page.locator('#top5 li').allInnerTexts();
    expect(top5).toHaveLength(Math.min(5, classes));
    for (const row of top5) expect(row).toMatch(/\d+\.\d%/);
    expect(await page.locator('#top5 li.target').count()).toBe(1);
    const cam = await canvasStats(page, 'heatmap-canvas');
    expect(cam.opaque).toBe(1);
    expect(cam.colours).toBeGreaterThan(100);
    expect(cam.std).toBeGreaterThan(5);
    expect(await page.locator('#heatmap-caption').innerText()).toMatch(/^Grad-CAM for .* at \S+/);
    expect(await page.locator('#timing').innerText()).toMatch(/grad-cam \d+(\.\d)? ms/);
    const input = await canvasStats(page, 'input-canvas');
    expect(input.std).toBeGreaterThan(1);

    // Saliency: no layer; a different picture on the same canvas.
    await page.selectOption('#method', 'saliency');
    expect(await page.locator('#layer').isDisabled()).toBe(true);
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.runs === '2' || document.body.dataset.state === 'error', null, {
      timeout: 40_000,
    });
    await waitState(page, ['done']);
    const sal = await canvasStats(page, 'heatmap-canvas');
    expect(sal.colours).toBeGreaterThan(100);
    expect(sal.std).toBeGreaterThan(5);
    expect(await page.locator('#heatmap-caption').innerText()).toMatch(/^Vanilla saliency for /);

    expect(await page.locator('#error').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  }, 50_000);

  it('says how to enable WebGPU when the browser has none', async () => {
    const page = await context.newPage();
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
    await page.goto(server.url);
    await waitState(page, ['error'], 15_000);
    const text = await page.locator('#error').innerText();
    expect(text).toMatch(/WebGPU is not available/);
    expect(text).toMatch(/enable-unsafe-webgpu/);
    expect(await page.locator('#run').isDisabled()).toBe(true);
    await page.close();
  }, 20_000);
});
