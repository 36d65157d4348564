/**
 * The high-level API in a browser (src/browser.ts, headless Chromium on SwiftShader): readImage gives
 * the same pixels from a URL, a Blob, bytes, an <img>, an ImageBitmap, canvases and ImageData, and the
 * same pixels as the Node decoder; loadModel from a URL, bytes or a File gives the same model on one
 * shared engine, destroyed with the last model; explain's Grad-CAM map matches the one computed under
 * Node (lavapipe) on the same picture; wrong sources are refused with a message.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { explain, loadModel, readImage } from '../../src/node.js';
import { browserOptions } from '../../tools/build.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser/chromium-args.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Report {
  pixels: number[];
  sameAsUrl: Record<string, boolean>;
  top1: string[];
  map: number[];
  target: number;
  overlay: [number, number];
  sharedEngine: boolean;
  aliveWithOneModel: boolean;
  afterLast: string;
  wrongImage: string;
  missingModel: string;
}

async function browserReport(): Promise<Report> {
  const bundle = await esbuild.build({
    ...browserOptions(join(ROOT, 'test/api/browser-api.entry.ts'), 'browser-api.js'),
    sourcemap: false,
    write: false,
    logLevel: 'error',
  });
  const files: Record<string, [string, Uint8Array | string]> = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>'],
    '/entry.js': ['text/javascript', bundle.outputFiles[0].contents],
    '/star.png': ['image/png', readFileSync(join(ROOT, 'examples/star.png'))],
    '/default-vgg.safetensors': ['application/octet-stream', readFileSync(join(ROOT, 'weights/default-vgg.safetensors'))],
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => '__report' in window || '__error' in window, null, { timeout: 60_000, polling: 100 });
    const { report, error } = await page.evaluate(() => {
      const w = window as unknown as { __report?: Report; __error?: string };
      return { report: w.__report, error: w.__error };
    });
    expect(error ?? errors[0], 'the page failed').toBeUndefined();
    return report!;
  } finally {
    await browser.close();
    server.close();
  }
}

describe('high-level API (browser)', () => {
  it('reads every kind of picture, loads models from every kind of source and explains as under Node', async () => {
    expect(existsSync(CHROMIUM_PATH), `no Chromium at ${CHROMIUM_PATH}; run bash tools/setup.sh --browser`).toBe(true);
    const r = await browserReport();

    for (const [kind, same] of Object.entries(r.sameAsUrl)) expect(same, `readImage(${kind}) differs from readImage(url)`).toBe(true);
    const node = await readImage(join(ROOT, 'examples/star.png'));
    expect(r.pixels, 'the browser decodes star.png differently from Node').toEqual(Array.from(node.data));

    expect(r.top1).toEqual(['star', 'star', 'star']);
    expect(r.sharedEngine, 'models loaded without an engine should share one').toBe(true);
    expect(r.aliveWithOneModel, 'the engine was destroyed while a model still held it').toBe(true);
    expect(r.afterLast).toMatch(/engine used after destroy/);
    expect(r.wrongImage).toMatch(/cannot read a picture from number/);
    expect(r.missingModel).toMatch(/missing\.safetensors: download failed with HTTP 404/);

    using model = await loadModel('default-vgg');
    const reference = await explain(model, node, { method: 'grad-cam', target: 'top1' });
    expect(r.target).toBe(reference.target);
    expect(r.overlay).toEqual([64, 64]);
    let worst = 0;
    r.map.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - reference.map[i]))));
    expect(worst, `Grad-CAM in Chromium (SwiftShader) and Node (lavapipe) differ by up to ${worst}`).toBeLessThan(1e-3);
  });
});
