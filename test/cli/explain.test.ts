/**
 * `layertracer explain` end to end on the embedded ResNet-style model (64x64 input) with a 128x96
 * picture: overlay PNGs at the picture's own size by default and at the model's with
 * --overlay-size model, opacity, the report's legend, timings and reading guide, RISE's mask budget,
 * and bad options refused before anything is loaded or written.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { explain, explainCommand, EXPLAIN_HELP } from '../../src/cli/explain.js';
import { RISE_AUTO_MAX, RISE_AUTO_MIN } from '../../src/cli/rise-masks-option.js';
import { loadModelFile } from '../../src/cli/load-model.js';
import { readImageFile } from '../../src/image/decode-node.js';
import { findMethod } from '../../src/methods/registry.js';
import { riseMasksForBudget } from '../../src/methods/rise-budget.js';
import { classMeansFromFile } from '../../src/e2cm/means-file.js';
import { e2cmExits } from '../../src/e2cm/exit-decisions.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { inputBatch } from '../../src/api/explain.js';
import { acquireEngine } from '../../src/gpu/acquire.js';
import { largestBindingPerImageFor } from '../../src/graph/pass-size.js';
import { expectClose } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';

const WEIGHTS = fileURLToPath(new URL('../../weights/default-resnet.safetensors', import.meta.url));
const PICTURE = fileURLToPath(new URL('../references/resize/zoneplate.png', import.meta.url)); // 128x96
const STAR = fileURLToPath(new URL('../../examples/star.png', import.meta.url)); // a generated test image
const HEART = fileURLToPath(new URL('../../examples/heart.png', import.meta.url));
const MEANS = fileURLToPath(new URL('../../weights/default-resnet.means.safetensors', import.meta.url));
const VGG_MEANS = fileURLToPath(new URL('../../weights/default-vgg.means.safetensors', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'layertracer-explain-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
vi.spyOn(console, 'log').mockImplementation(() => {});
vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

const engine = await testEngine();
const model = await loadModelFile(engine, WEIGHTS);
afterAll(() => model.release());

const size = async (path: string) => {
  const img = await readImageFile(path);
  return [img.width, img.height];
};

describe('explain', () => {
  it('documents every option it parses', () => {
    for (const o of ['--alpha', '--overlay-size', '--rise-masks', '--rise-seconds', '--colormap', '--layer', '--target', '--force']) {
      expect(EXPLAIN_HELP).toContain(o);
    }
  });

  it("writes overlays at the picture's own size, with a report that explains itself", async () => {
    const out = join(dir, 'original');
    const summary = await explain(engine, model, {
      images: [PICTURE],
      methods: ['grad-cam', 'guided-backprop', 'rise'].map(findMethod),
      targets: ['top1'],
      colormap: 'jet',
      riseMasks: { masks: 64 },
      outDir: out,
    });
    for (const m of ['grad-cam', 'guided-backprop', 'rise']) expect(await size(join(out, `zoneplate.${m}.png`)), m).toEqual([128, 96]);
    // The model's view stays at its input size.
    expect(await size(join(out, 'zoneplate.input.png'))).toEqual([64, 64]);
    expect(summary.riseMasks).toBe(64);
    expect(summary.methods.map((m) => m.name)).toEqual(['grad-cam', 'guided-backprop', 'rise']);
    for (const m of summary.methods) expect(m.seconds).toBeGreaterThan(0);
    const html = await readFile(summary.report, 'utf8');
    expect(html).toContain('class="colour-bar"');
    expect(html).toContain('How to read each method');
    expect(html).toMatch(/RISE 64 masks/);
    expect(html).toMatch(/<td>\d+\.\d+ s<\/td>/); // timings
    expect(html).toContain('Where keeping the image visible under random masks'); // RISE's reading
  });

  it('--overlay-size model and --alpha through the command line; never overwrites without --force', async () => {
    const out = join(dir, 'model');
    const args = [
      '--weights',
      WEIGHTS,
      '--image',
      PICTURE,
      '--method',
      'grad-cam',
      '--overlay-size',
      'model',
      '--alpha',
      '0',
      '--out',
      out,
    ];
    await explainCommand(args);
    expect(await size(join(out, 'zoneplate.grad-cam.png'))).toEqual([64, 64]);
    // Opacity 0: the overlay is the model's view itself.
    const [overlay, input] = await Promise.all([
      readImageFile(join(out, 'zoneplate.grad-cam.png')),
      readImageFile(join(out, 'zoneplate.input.png')),
    ]);
    expect(overlay.data).toEqual(input.data);
    await expect(explainCommand(args)).rejects.toThrow(/already exist.*--force/);
  });

  it('refuses bad options before loading anything', async () => {
    const out = join(dir, 'refused');
    const base = ['--weights', 'does-not-exist.safetensors', '--image', PICTURE, '--out', out];
    await expect(explainCommand([...base, '--alpha', '1.5'])).rejects.toThrow(/--alpha/);
    await expect(explainCommand([...base, '--overlay-size', 'huge'])).rejects.toThrow(/--overlay-size must be one of original, model/);
    await expect(explainCommand([...base, '--rise-masks', 'many'])).rejects.toThrow(/--rise-masks \(or auto\) must be an integer/);
    await expect(explainCommand([...base, '--rise-seconds', '0'])).rejects.toThrow(/--rise-seconds/);
    expect(existsSync(out)).toBe(false);
  });

  it('sizes RISE to a time budget on this model and adapter, within bounds', async () => {
    const tiny = await riseMasksForBudget(model, { seconds: 1e-6, batchSize: 8, min: RISE_AUTO_MIN, max: RISE_AUTO_MAX });
    expect(tiny.masks).toBe(RISE_AUTO_MIN);
    expect(tiny.masksPerSecond).toBeGreaterThan(0);
    const huge = await riseMasksForBudget(model, { seconds: 1e6, batchSize: 8, min: RISE_AUTO_MIN, max: RISE_AUTO_MAX });
    expect(huge.masks).toBe(RISE_AUTO_MAX);
    const some = await riseMasksForBudget(model, { seconds: 300 / tiny.masksPerSecond, batchSize: 8, min: 1, max: 100000 });
    expect(some.masks % 50).toBe(0);
    expect(some.masks).toBeGreaterThan(0);
  });

  it('--means: says where E2CM lets each image exit, by the calibrated thresholds, in the report and the JSON', async () => {
    const means = classMeansFromFile(await readSafetensorsFile(MEANS));
    const out = join(dir, 'exits');
    const summary = await explain(engine, model, {
      images: [PICTURE, STAR],
      methods: [findMethod('grad-cam')],
      targets: ['top1'],
      colormap: 'jet',
      json: true,
      means,
      outDir: out,
    });
    const x = inputBatch(model, [await readImageFile(PICTURE), await readImageFile(STAR)]);
    const decided = await e2cmExits(model, x, means);
    engine.release(x);
    expect(decided.thresholds).toEqual(means.exits.map((l) => means.calibration!.thresholds.get(l)));
    const doc = JSON.parse(await readFile(join(out, 'explain.json'), 'utf8'));
    decided.exitLayer.forEach((layer, i) => {
      const said = summary.rows[i].exit!;
      expect(said).toMatch(layer ? new RegExp(`^exits at ${layer.replace('.', '\\.')} \\(confidence`) : /^no exit is confident enough/);
      expect(doc.images[i].exit).toBe(said);
    });
    expect(decided.exitLayer[1], 'the star, a training-like picture, leaves early').not.toBeNull();
    expect(await readFile(summary.report, 'utf8')).toContain('E2CM: ');
    // Class means of another model are refused before anything runs.
    await expect(
      explainCommand([
        '--weights',
        WEIGHTS,
        '--image',
        PICTURE,
        '--method',
        'grad-cam',
        '--means',
        VGG_MEANS,
        '--out',
        join(dir, 'refused-means'),
      ]),
    ).rejects.toThrow(/class means/);
    expect(existsSync(join(dir, 'refused-means'))).toBe(false);
  });

  it('runs more images than one pass can take in groups, with the maps one pass gives', async () => {
    // An engine whose bindings hold one image's largest tensor and a half: one image a pass.
    const bytes = largestBindingPerImageFor(model, [3, 64, 64]);
    const narrow = await acquireEngine({ maxBindingBytes: Math.floor(1.5 * bytes) });
    const grouped = await loadModelFile(narrow, WEIGHTS);
    const images = [PICTURE, STAR, HEART];
    const job = {
      images,
      methods: ['grad-cam', 'saliency'].map(findMethod),
      targets: ['top1' as const],
      colormap: 'jet' as const,
      json: true,
    };
    try {
      await explain(engine, model, { ...job, outDir: join(dir, 'one-pass') });
      await explain(narrow, grouped, { ...job, outDir: join(dir, 'grouped') });
    } finally {
      grouped.release();
      narrow.destroy();
    }
    const json = async (run: string) => JSON.parse(await readFile(join(dir, run, 'explain.json'), 'utf8'));
    const [onePass, inGroups] = [await json('one-pass'), await json('grouped')];
    type Top = { index: number; prob: number }[];
    const tops = (doc: { images: { top: Top }[] }) => doc.images.map((i) => i.top);
    expect(tops(inGroups).map((t) => t.map((p) => p.index))).toEqual(tops(onePass).map((t) => t.map((p) => p.index)));
    expectClose(
      tops(inGroups).flatMap((t) => t.map((p) => p.prob)),
      tops(onePass).flatMap((t) => t.map((p) => p.prob)),
      { atol: 1e-5, what: 'top-5 probabilities' },
    );
    for (const stem of ['zoneplate', 'star', 'heart']) {
      for (const m of ['grad-cam', 'saliency']) {
        const map = async (run: string) => (await readSafetensorsFile(join(dir, run, `${stem}.${m}.safetensors`))).getF32('map');
        expectClose(await map('grouped'), await map('one-pass'), {
          atol: 1e-5,
          rtol: 1e-4,
          what: `${stem} ${m}, one image a pass vs three`,
        });
      }
    }
  });

  it('leaves nothing but its outputs', async () => {
    const files = await readdir(join(dir, 'model'));
    expect(files.sort()).toEqual(['index.html', 'zoneplate.grad-cam.png', 'zoneplate.grad-cam.safetensors', 'zoneplate.input.png']);
  });
});
