/**
 * The browser page end to end: builds it (`node tools/build.mjs web`), serves it with web/serve.mjs on
 * 127.0.0.1, opens it in headless Chromium with WebGPU (SwiftShader, the flags of run.mjs) and drives
 * every control: the model menu (weights only, never class-means files), the layer menu (spatial
 * PyTorch layers, no engine-internal `#` names, no flatten/avgpool), Grad-CAM and saliency on a
 * built-in sample (top-5, a non-blank heatmap), the opacity slider (redraws without a run), the PNG
 * download, RISE's progress from its first masks, the all-methods grid, the LayerTracer strip, and an
 * uploaded picture resized as PIL does. Screenshots of the finished page are checked (elements
 * present, no error box) and kept in $TMPDIR/layertracer-page-shots for a person to look at. A second
 * page without navigator.gpu must show how to enable WebGPU.
 *
 * Model: weights/default-resnet.safetensors, else default-vgg, else the shared CIFAR ResNet-20
 * (../shared/data/cifar10, served as a second weights folder).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium-args.mjs';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const SHARED = resolve(ROOT, '../shared/data/cifar10');
const SHOTS = join(tmpdir(), 'layertracer-page-shots');
const PICTURE = join(ROOT, 'test/references/resize/zoneplate.png');

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

/** Screenshot of the whole page, kept for a person; checked here for size and that it is a PNG. */
async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const png = PNG.sync.read(readFileSync(path));
  expect(png.width).toBeGreaterThanOrEqual(1000);
  expect(png.height).toBeGreaterThan(500);
}

/** Pixels of a canvas as RGB bytes. */
function canvasPixels(page: Page, id: string) {
  return page.evaluate((canvasId) => {
    const c = document.getElementById(canvasId) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const rgb: number[] = [];
    for (let i = 0; i < d.length; i += 4) rgb.push(d[i], d[i + 1], d[i + 2]);
    return { width: c.width, height: c.height, rgb };
  }, id);
}

describe('browser page (web/)', () => {
  const model = pickModel();
  let server: { child: ChildProcess; url: string };
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH))
      throw new Error(`no Chromium at ${CHROMIUM_PATH}; run \`bash tools/setup.sh --browser\` or set CHROMIUM_PATH`);
    execFileSync(process.execPath, [join(ROOT, 'tools/build.mjs'), '--quiet', 'web'], { cwd: ROOT, stdio: 'inherit' });
    server = await startServer(model.extraDir);
    profile = mkdtempSync(join(tmpdir(), 'layertracer-page-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 800 },
      timeout: 30_000,
      acceptDownloads: true,
    });
  }, 45_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    server?.child.kill();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it(`explains a built-in sample: menus, Grad-CAM, opacity, download, saliency, RISE progress (${model.file})`, async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console.error: ${m.text()}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(server.url);
    await waitState(page, ['ready']);
    expect(await page.locator('#adapter').innerText()).toMatch(/^GPU: /);

    // The model menu: weights only, never the class-means files served beside them.
    const key = `url:${model.file}`;
    const models = await page.locator('#model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(models).toContain(key);
    expect(
      models.filter((m) => /means/.test(m)),
      'class-means files in the model menu',
    ).toEqual([]);
    if ((await page.locator('#model').inputValue()) !== key) {
      await page.selectOption('#model', key);
      await waitState(page, ['ready']);
    }
    expect(await page.locator('#model-info').innerText()).toMatch(/input \d+×\d+ · \d+ classes/);
    const classes = (await page.locator('#target option').count()) - 1;
    expect(classes).toBeGreaterThanOrEqual(2);

    // Every registry method is offered; the layer menu holds spatial PyTorch layers only.
    expect(await page.locator('#method option').count()).toBeGreaterThanOrEqual(15);
    const layers = await page.locator('#layer option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(layers.length).toBeGreaterThan(3);
    expect(
      layers.filter((l) => /#|flatten|avgpool|linear|classifier|^fc$/.test(l)),
      'non-spatial or internal layers',
    ).toEqual([]);
    await page.click('#samples button[data-index="1"]');
    expect(await page.locator('#samples button[data-index="1"]').getAttribute('aria-pressed')).toBe('true');

    // Grad-CAM at the default layer for the top-1 class.
    await page.selectOption('#method', 'grad-cam');
    expect(await page.locator('#layer').isEnabled()).toBe(true);
    expect(await page.locator('#method-help').innerText()).toMatch(/class-specific/);
    expect(await page.locator('#download').isDisabled()).toBe(true);
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
    expect(await page.locator('#timing').innerText()).toMatch(/grad-cam \d+(\.\d)? (ms|s)/);
    expect(await page.locator('#legend').isVisible()).toBe(true);
    const input = await canvasStats(page, 'input-canvas');
    expect(input.std).toBeGreaterThan(1);

    // Opacity: the slider redraws the kept map, no new run; 0 shows the picture alone.
    const before = await canvasPixels(page, 'heatmap-canvas');
    await page.locator('#alpha').fill('0');
    expect(await page.locator('#alpha-value').innerText()).toBe('0%');
    const bare = await canvasPixels(page, 'heatmap-canvas');
    expect(bare.rgb).not.toEqual(before.rgb);
    expect(await page.evaluate(() => document.body.dataset.runs)).toBe('1');
    await page.locator('#alpha').fill('0.6');

    // Download: the overlay as shown, as a PNG file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toMatch(/^layertracer-sample-1-grad-cam\.png$/);
    const png = PNG.sync.read(readFileSync(await download.path()));
    expect([png.width, png.height]).toEqual([cam.width, cam.height]);

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

    // RISE: progress shows from its first masks, not only at the end.
    await page.selectOption('#method', 'rise');
    await page.locator('#masks').fill('64');
    await page.click('#run');
    await page.waitForFunction(() => /RISE: \d+ \/ 64 masks/.test(document.getElementById('status')!.textContent ?? ''), null, {
      timeout: 10_000,
      polling: 20,
    });
    expect(await page.locator('#progress').isVisible()).toBe(true);
    await waitState(page, ['done']);
    expect(await page.locator('#progress').isVisible()).toBe(false);
    expect(await page.locator('#heatmap-caption').innerText()).toMatch(/^RISE for /);

    expect(await page.locator('#error').isVisible()).toBe(false);
    await screenshot(page, 'single-method');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('runs every method side by side and draws the LayerTracer strip', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url);
    await waitState(page, ['ready']);
    await page.locator('#masks').fill('64');
    const usable = await page.locator('#method option:not([disabled])').count();

    await page.click('#run-all');
    await waitState(page, ['done'], 120_000);
    expect(await page.locator('#grid figure').count()).toBe(usable);
    expect(await page.locator('#grid-caption').innerText()).toMatch(new RegExp(`^${usable} methods in `));
    // A cell becomes the main result when clicked.
    await page.click('#grid figure[data-method="layer-cam"]');
    expect(await page.locator('#heatmap-caption').innerText()).toMatch(/^LayerCAM for /);
    expect(await page.locator('#download').isEnabled()).toBe(true);

    if (await page.locator('#run-trace').isEnabled()) {
      await page.click('#run-trace');
      await waitState(page, ['done'], 60_000);
      const strip = await page.locator('#trace figure').count();
      expect(strip).toBeGreaterThanOrEqual(4); // the input, the exits, the classifier
      expect(await page.locator('#trace figure[data-layer="output"]').count()).toBe(1);
      expect(await page.locator('#trace-caption').innerText()).toMatch(/^LayerTracer for /);
    } else {
      expect(model.file).not.toMatch(/^default-/); // the embedded defaults ship class means
    }
    expect(await page.locator('#error').isVisible()).toBe(false);
    await screenshot(page, 'grid-and-strip');
    expect(problems).toEqual([]);
    await page.close();
  }, 150_000);

  it('feeds the model an uploaded picture resized as PIL does', async () => {
    const page = await context.newPage();
    await page.goto(server.url);
    await waitState(page, ['ready']);
    await page.setInputFiles('#image-file', PICTURE);
    await page.waitForFunction(() => document.getElementById('input-caption')!.textContent!.includes('zoneplate.png'));
    await page.selectOption('#method', 'grad-cam');
    await page.click('#run');
    await waitState(page, ['done']);
    const seen = await canvasPixels(page, 'input-canvas');
    const ref = await readSafetensorsFile(join(ROOT, 'test/references/resize/pil-bilinear.safetensors'));
    const name = `out_${seen.width}x${seen.height}`;
    expect(ref.has(name), `no PIL reference at the model's input size ${seen.width}x${seen.height}`).toBe(true);
    const want = ref.getF32(name);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(seen.rgb[i] - want[i]));
    expect(worst, `worst difference from PIL ${worst} grey levels`).toBeLessThanOrEqual(1);
    await page.close();
  }, 40_000);

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
