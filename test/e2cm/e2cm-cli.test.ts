import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classMeansCommand } from '../../src/cli/class-means.js';
import { earlyExitCommand } from '../../src/cli/early-exit.js';
import { traceCommand } from '../../src/cli/trace.js';
import { classMeansFromFile } from '../../src/e2cm/means-file.js';
import { writePng } from '../../src/image/encode-node.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors-node.js';
import { randomArray } from '../util/compare.js';
import { insideRegion, multiRegionModelBytes, REGION, REGION_SIZE } from '../util/region-model.js';

// The one-region model (class 0 reads REGION, class 1 is a constant) and labelled U8 images for it:
// class 0 a bright region, class 1 a dark one, over random backgrounds. Input normalisation is x/255.
const dir = mkdtempSync(join(tmpdir(), 'lt-e2cm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const size = REGION_SIZE;
const weights = join(dir, 'region.safetensors');
writeFileSync(weights, multiRegionModelBytes([REGION]));

function imageU8(i: number, label: number): Uint8Array {
  const bg = randomArray(size * size * 3, 50 + i, 50, 150);
  return Uint8Array.from({ length: size * size * 3 }, (_, k) =>
    insideRegion(Math.floor(k / 3)) ? (label === 0 ? 255 : 13) : Math.round(bg[k]),
  );
}

const COUNT = 60;
const data = join(dir, 'set.safetensors');
const images = new Uint8Array(COUNT * size * size * 3);
for (let i = 0; i < COUNT; i++) images.set(imageU8(i, i % 2), i * size * size * 3);
await writeSafetensorsFile(
  data,
  {
    images: { dtype: 'U8', shape: [COUNT, size, size, 3], data: images },
    labels: { dtype: 'I32', shape: [COUNT], data: Int32Array.from({ length: COUNT }, (_, i) => i % 2) },
  },
  { classes: JSON.stringify(['region 0', 'none']) },
);
const means = join(dir, 'means.safetensors');

describe('E2CM on the command line', () => {
  it('class-means refuses a calibration range that overlaps the means range, before any work', async () => {
    await expect(
      classMeansCommand(['--weights', weights, '--data', data, '--range', '0:20', '--calibrate-range', '10:40', '--out', means]),
    ).rejects.toThrow(/--calibrate-range 10:40 overlaps the images the means come from/);
  });

  it('class-means --calibrate-range stores temperatures and thresholds; early-exit --json writes exactly the promised fields', async () => {
    await classMeansCommand([
      '--weights',
      weights,
      '--data',
      data,
      '--range',
      '0:20',
      '--calibrate-range',
      '20:40',
      '--mode',
      'full',
      '--out',
      means,
    ]);
    const m = classMeansFromFile(await readSafetensorsFile(means));
    expect(m.calibration).not.toBeNull();
    expect(m.calibration!.maxAccuracyDrop).toBe(0.01);
    expect(m.calibration!.split).toMatchObject({ start: 20, count: 20 });

    await expect(earlyExitCommand(['--weights', weights, '--means', means, '--data', data, '--range', '30:60'])).rejects.toThrow(
      /overlap the images the class means were calibrated on \(20..39\)/,
    );
    const json = join(dir, 'ee.json');
    await earlyExitCommand([
      '--weights',
      weights,
      '--means',
      means,
      '--data',
      data,
      '--range',
      '40:60',
      '--json',
      json,
      '--out',
      join(dir, 'ee'),
    ]);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(readFileSync(join(dir, 'ee', 'early-exit.json'), 'utf8')).toBe(readFileSync(json, 'utf8'));
    expect(Object.keys(r).sort()).toEqual(['exits', 'finalAccuracy', 'perExit', 'singleThreshold']);
    expect(r.exits).toHaveLength(1);
    expect(Object.keys(r.exits[0]).sort()).toEqual(['accuracy', 'computeFraction', 'ece', 'layer', 'nll', 'temperature', 'threshold']);
    expect(r.exits[0]).toMatchObject({ layer: 'features.2', accuracy: 1 });
    expect(Object.keys(r.perExit).sort()).toEqual(['accuracy', 'computeFraction', 'exitCounts']);
    expect(r.perExit.exitCounts.reduce((a: number, b: number) => a + b, 0)).toBe(20);
    expect(r.finalAccuracy).toBe(1);
    expect(r.singleThreshold.at(-1)).toMatchObject({ threshold: null, accuracy: 1, computeFraction: 1 });
  });

  it('trace writes one safetensors per image with one tensor per layer, named by the layer, and --json with the per-layer numbers', async () => {
    const png = join(dir, 'bright.png');
    const rgb = imageU8(99, 0);
    await writePng(png, { width: size, height: size, data: rgb });
    const out = join(dir, 'trace');
    await traceCommand([
      ...['--weights', weights, '--means', means, '--image', png, '--masks', '64', '--cells', '4', '--batch', '32'],
      ...['--pixels-per-step', '32', '--json', join(dir, 'trace.json'), '--out', out],
    ]);
    const maps = await readSafetensorsFile(join(out, 'bright.layertracer.safetensors'));
    expect(maps.names().sort()).toEqual(['features.2', 'output']);
    expect(maps.info('features.2').shape).toEqual([size, size]);
    const r = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
    expect(readFileSync(join(out, 'layertracer.json'), 'utf8')).toBe(readFileSync(join(dir, 'trace.json'), 'utf8'));
    expect(r.images).toHaveLength(1);
    const [image] = r.images;
    expect(image.target).toBe('region 0');
    expect(image.layers.map((l: { layer: string }) => l.layer)).toEqual(['features.2', 'output']);
    for (const l of image.layers) {
      expect(Object.keys(l).sort()).toEqual(['baseline', 'classSensitivity', 'contrast', 'deletion', 'insertion', 'layer']);
      for (const v of [l.classSensitivity, l.contrast, l.insertion, l.deletion, l.baseline.classSensitivity, l.baseline.contrast])
        expect(Number.isFinite(v)).toBe(true);
    }
    expect(Number.isFinite(image.random.insertion)).toBe(true);
    expect(image.exits[0].layer).toBe('features.2');
  });
});
