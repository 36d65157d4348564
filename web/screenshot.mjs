#!/usr/bin/env node
// Screenshots for the docs, with headless Chromium (WebGPU on SwiftShader, as test/browser/run.mjs).
//
//   node web/screenshot.mjs page   --out docs/images/web-page.png [--model default-resnet.safetensors]
//        [--weights DIR]... [--sample N | --image FILE] [--method grad-cam] [--target CLASS_INDEX]
//        [--all] [--masks N]
//     serves the built page (node tools/build.mjs web) with web/serve.mjs, runs the method, and
//     captures the page once the heatmap is drawn; --all also runs the all-methods grid and the
//     LayerTracer strip (when the model has class means); --masks sets RISE's masks
//
//   node web/screenshot.mjs report --out docs/images/explain-report.png --html /tmp/explain-shot/index.html
//     a full-page capture of a report written by `layertracer explain`
//
// --scale (default 1) is the device pixel ratio: below 1 makes a smaller file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/chromium-args.mjs';

// The test runners' flags (WebGPU on, SwiftShader pinned, no sandbox as root), and no scrollbars in pictures.
const ARGS = [...CHROMIUM_ARGS, '--hide-scrollbars'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    html: { type: 'string' },
    model: { type: 'string' },
    weights: { type: 'string', multiple: true, default: [] },
    sample: { type: 'string', default: '0' },
    image: { type: 'string' },
    method: { type: 'string', default: 'grad-cam' },
    target: { type: 'string' },
    width: { type: 'string', default: '1200' },
    scale: { type: 'string', default: '1' },
    all: { type: 'boolean', default: false },
    masks: { type: 'string' },
  },
});
const mode = positionals[0];
if (!['page', 'report'].includes(mode) || !values.out || (mode === 'report' && !values.html)) {
  console.error(
    'usage: node web/screenshot.mjs page --out FILE [--model F] [--weights DIR]... [--sample N | --image FILE] [--method M] [--target I]\n' +
      '       node web/screenshot.mjs report --out FILE --html REPORT.html',
  );
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), 'layertracer-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: ARGS,
  // A short viewport: a full-page capture then ends where the content does.
  viewport: { width: Number(values.width), height: mode === 'report' ? 100 : 600 },
  deviceScaleFactor: Number(values.scale),
});
let server;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  if (mode === 'report') {
    await page.goto(pathToFileURL(resolve(values.html)).href);
    await page.waitForLoadState('load');
  } else {
    server = await startServer({ port: 0, weights: values.weights });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const settle = (states) =>
      page
        .waitForFunction((s) => s.includes(document.body.dataset.state), states, { timeout: 600_000 })
        .then(async () => {
          if ((await page.evaluate(() => document.body.dataset.state)) === 'error')
            throw new Error(await page.locator('#error').innerText());
        });
    await settle(['ready', 'error']);
    if (values.model) {
      await page.selectOption('#model', `url:${values.model}`);
      await settle(['ready', 'error']);
    }
    if (values.image) {
      await page.setInputFiles('#image-file', values.image);
      await page.waitForFunction(() => document.getElementById('input-caption').textContent.includes('.'));
    } else {
      await page.click(`#samples button[data-index="${values.sample}"]`);
    }
    if (values.masks) await page.locator('#masks').fill(values.masks);
    await page.selectOption('#method', values.method);
    if (values.target) await page.selectOption('#target', values.target);
    await page.click('#run');
    await settle(['done', 'error']);
    if (values.all) {
      await page.click('#run-all');
      await settle(['done', 'error']);
      if (await page.locator('#run-trace').isEnabled()) {
        await page.click('#run-trace');
        await settle(['done', 'error']);
      }
    }
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
  }
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`wrote ${values.out}`);
} finally {
  await context.close().catch(() => {});
  server?.close();
  rmSync(profile, { recursive: true, force: true });
}
