/**
 * Bundled by browser-api.test.ts and run in headless Chromium: the high-level API of src/browser.ts on
 * every kind of source a page holds. Reports plain data on window.__report for the test to check.
 */
import { drawImage, explain, loadModel, predict, readImage, toImageData, type RgbImage } from '../../src/browser.js';

const same = (a: RgbImage, b: RgbImage) => a.width === b.width && a.height === b.height && a.data.every((v, i) => v === b.data[i]);
const message = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: Error) => e.message,
  );

async function report() {
  const fromUrl = await readImage('star.png');
  const bytes = await (await fetch('star.png')).arrayBuffer();
  const blob = new Blob([bytes], { type: 'image/png' });
  const img = document.createElement('img');
  img.src = 'star.png';
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  drawImage(canvas, fromUrl);
  const offscreen = new OffscreenCanvas(1, 1);
  drawImage(offscreen, fromUrl);
  const sources: Record<string, unknown> = {
    blob,
    bytes,
    uint8: new Uint8Array(bytes),
    img,
    bitmap,
    canvas,
    offscreen,
    imageData: toImageData(fromUrl),
  };
  const sameAsUrl: Record<string, boolean> = {};
  for (const [kind, source] of Object.entries(sources)) sameAsUrl[kind] = same(await readImage(source as Blob), fromUrl);

  const weights = await (await fetch('default-vgg.safetensors')).arrayBuffer();
  const byUrl = await loadModel('default-vgg.safetensors');
  const byBytes = await loadModel(weights);
  const byFile = await loadModel(new File([weights], 'default-vgg.safetensors'));
  const top1 = [byUrl, byBytes, byFile].map(async (m) => (await predict(m, fromUrl))[0].label);
  const result = await explain(byUrl, fromUrl, { method: 'grad-cam', target: 'top1' });
  const sharedEngine = byBytes.engine === byUrl.engine && byFile.engine === byUrl.engine;
  byUrl.release();
  byBytes.release();
  const aliveWithOneModel = (() => {
    try {
      byFile.engine.empty([1]).release();
      return true;
    } catch {
      return false;
    }
  })();
  byFile.release();
  const afterLast = await message(Promise.resolve().then(() => byFile.engine.empty([1])));
  return {
    pixels: Array.from(fromUrl.data),
    sameAsUrl,
    top1: await Promise.all(top1),
    map: Array.from(result.map),
    target: result.target,
    overlay: [result.overlay.width, result.overlay.height],
    sharedEngine,
    aliveWithOneModel,
    afterLast,
    wrongImage: await message(readImage(42 as unknown as Blob)),
    missingModel: await message(loadModel('missing.safetensors')),
  };
}

const w = window as unknown as { __report?: unknown; __error?: string };
report().then(
  (r) => (w.__report = r),
  (e: Error) => (w.__error = `${e.name}: ${e.message}\n${e.stack}`),
);
