import { describe, expect, it } from 'vitest';
import { tensorSet } from '../../src/data/labelled-source.js';
import { datasetFromFile } from '../../src/data/image-dataset.js';
import { calibrateClassMeans } from '../../src/e2cm/calibrate.js';
import { negativeLogLikelihood } from '../../src/e2cm/calibration.js';
import { calibrationNote, computeClassMeans } from '../../src/e2cm/class-means.js';
import type { LabelledBatches } from '../../src/data/labelled-batches.js';
import { observeExits, predictExits, simulateEarlyExit } from '../../src/e2cm/early-exit.js';
import { classMeansFromFile, classMeansToTensors } from '../../src/e2cm/means-file.js';
import type { Engine } from '../../src/gpu/engine.js';
import { modelFromFile, type Model } from '../../src/graph/model.js';
import { parseSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { uniformRandom } from '../../src/util/random.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

const engine = await testEngine();

const SIZE = 8;
const PLANE = SIZE * SIZE;

/**
 * Two stages of (1x1 identity conv, ReLU, 2x2 max-pool), so both exits (features.2, features.5) see
 * per-channel colour; the classifier reads the pooled CHW cells with `classifier` weights (K, 3 * 4).
 */
function twoExitModel(e: Engine, classifier: (k: number, channel: number, cell: number) => number, classes: number): Model {
  const identity = Float32Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const cells = (SIZE / 4) ** 2;
  const w = new Float32Array(classes * 3 * cells);
  for (let k = 0; k < classes; k++)
    for (let c = 0; c < 3; c++) for (let p = 0; p < cells; p++) w[(k * 3 + c) * cells + p] = classifier(k, c, p);
  const conv = { dtype: 'F32' as const, shape: [3, 3, 1, 1], data: identity };
  const bias = { dtype: 'F32' as const, shape: [3], data: new Float32Array(3) };
  const bytes = writeSafetensors(
    {
      'features.0.weight': conv,
      'features.0.bias': bias,
      'features.3.weight': conv,
      'features.3.bias': bias,
      'classifier.weight': { dtype: 'F32', shape: [classes, 3 * cells], data: w },
      'classifier.bias': { dtype: 'F32', shape: [classes], data: new Float32Array(classes) },
    },
    {
      architecture: 'plain_cnn',
      input_size: JSON.stringify([SIZE, SIZE]),
      normalize: JSON.stringify({ mean: [0, 0, 0], std: [1, 1, 1] }),
      classes: JSON.stringify(Array.from({ length: classes }, (_, k) => `c${k}`)),
    },
  );
  return modelFromFile(e, parseSafetensors(bytes, 'two-exit-model'));
}

/** `count` images labelled i % classes, drawn by `paint(label, channel, y, x)` plus noise in [0, 0.1). */
function paintedSet(
  count: number,
  classes: number,
  seed: number,
  paint: (label: number, c: number, y: number, x: number) => number,
): LabelledBatches {
  const rand = uniformRandom(seed);
  const data = new Float32Array(count * 3 * PLANE);
  const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
  for (let i = 0; i < count; i++)
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < PLANE; p++) data[(i * 3 + c) * PLANE + p] = paint(labels[i], c, Math.floor(p / SIZE), p % SIZE) + 0.1 * rand();
  return {
    count,
    shape: [3, SIZE, SIZE],
    batch: (s, n) => ({ data: data.slice(s * 3 * PLANE, (s + n) * 3 * PLANE), labels: labels.subarray(s, s + n) }),
  };
}

async function calibratedExits(model: Model, paint: (label: number, c: number, y: number, x: number) => number, classes: number) {
  const means = await computeClassMeans(model, paintedSet(30, classes, 1, paint));
  const calibrated = await calibrateClassMeans(model, means, paintedSet(60, classes, 2, paint), { maxAccuracyDrop: 0.01 });
  const obs = await observeExits(model, calibrated, paintedSet(60, classes, 3, paint));
  const thresholds = calibrated.exits.map((l) => calibrated.calibration!.thresholds.get(l)!);
  return simulateEarlyExit(
    predictExits(
      obs,
      calibrated.exits.map((l) => calibrated.temperatures.get(l)!),
    ),
    thresholds,
  );
}

describe('early exits on synthetic models', () => {
  it('class means that separate perfectly at the first exit: every image exits there', async () => {
    // Class k is a bright colour channel k; the classifier reads the channels too.
    const toy = twoExitModel(engine, (k, c) => (k === c ? 1 : 0), 3);
    const r = await calibratedExits(toy, (label, c) => (label === c ? 1 : 0.2), 3);
    expect(r.exitCounts, `exits per layer ${r.exitCounts.join(' / ')}`).toEqual([60, 0, 0]);
    expect(r.accuracy).toBe(1);
    toy.release();
  });

  it('class means that never separate (same pooled colour, different halves): no image exits early', async () => {
    // Class 0: bright left half; class 1: bright right half. Pooled features are the same; the classifier reads the halves.
    const toy = twoExitModel(engine, (k, _c, cell) => ((cell % 2 === 0) === (k === 0) ? 1 : -1), 2);
    const r = await calibratedExits(toy, (label, _c, _y, x) => (x < SIZE / 2 === (label === 0) ? 1 : 0.2), 2);
    expect(r.exitCounts, `exits per layer ${r.exitCounts.join(' / ')}`).toEqual([0, 0, 60]);
    expect(r.accuracy).toBe(1);
    toy.release();
  });
});

const model = modelFromFile(engine, await readSafetensorsFile(cifarFile('resnet20.safetensors')));
const set = tensorSet(datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors'))));
const means = await computeClassMeans(model, set.batches(model.info, { start: 0, count: 300 }), { batchSize: 100 });
const calibration = set.batches(model.info, { start: 300, count: 300 });
const calibrated = await calibrateClassMeans(model, means, calibration, { maxAccuracyDrop: 0.01, batchSize: 100 });

describe('E2CM calibration on ResNet-20 (real CIFAR-10 images; means 0..299, calibration 300..599, held out 600..999)', () => {
  it('lowers the held-out NLL at every exit against the uncalibrated temperature', async () => {
    const held = await observeExits(model, means, set.batches(model.info, { start: 600, count: 400 }), 100);
    const rows = means.exits.map((layer, j) => {
      const before = negativeLogLikelihood(held.distances[j], held.labels, 10, 1);
      const after = negativeLogLikelihood(held.distances[j], held.labels, 10, calibrated.temperatures.get(layer)!);
      return { layer, before, after };
    });
    const table = rows.map((r) => `${r.layer} ${r.before.toFixed(3)} -> ${r.after.toFixed(3)}`).join(', ');
    for (const r of rows) expect(r.after, `held-out NLL per exit: ${table}`).toBeLessThan(r.before);
  });

  it('per-exit thresholds never lose more than the allowed point on the split they were chosen on', async () => {
    const c = calibrated.calibration!;
    const obs = predictExits(
      await observeExits(model, calibrated, calibration, 100),
      calibrated.exits.map((l) => calibrated.temperatures.get(l)!),
    );
    const r = simulateEarlyExit(
      obs,
      calibrated.exits.map((l) => c.thresholds.get(l)!),
    );
    expect(r.accuracy, `calibration split: ${r.accuracy} with exits vs ${c.finalAccuracy} final`).toBeGreaterThanOrEqual(
      c.finalAccuracy - 0.01,
    );
    expect(r.accuracy).toBeCloseTo(c.perExit.accuracy, 10);
    expect(r.computeFraction).toBeCloseTo(c.perExit.computeFraction, 10);
    expect(c.single.accuracy).toBeGreaterThanOrEqual(c.finalAccuracy - 0.01);
  });

  it('the calibration travels in the means file; files from before calibration still load, marked uncalibrated', async () => {
    const { tensors, metadata } = classMeansToTensors(calibrated);
    const back = classMeansFromFile(parseSafetensors(writeSafetensors(tensors, metadata), 'calibrated'));
    expect([...back.temperatures.values()]).toEqual([...calibrated.temperatures.values()].map((t) => Math.fround(t)));
    expect([...back.calibration!.thresholds.values()]).toEqual([...calibrated.calibration!.thresholds.values()].map((t) => Math.fround(t)));
    expect(back.calibration!.exitStats).toEqual(calibrated.calibration!.exitStats);
    expect(calibrationNote(back)).toBeNull();

    // A format-1 file: no scales, raw-distance temperatures, no calibration.
    const old = { ...tensors };
    for (const k of Object.keys(old)) if (k.startsWith('scale:') || k === 'thresholds') delete old[k];
    const { format: _format, calibration: _calibration, ...oldMetadata } = metadata;
    const legacy = classMeansFromFile(parseSafetensors(writeSafetensors(old, oldMetadata), 'legacy'));
    expect(legacy.legacy).toBe(true);
    expect(legacy.calibration).toBeNull();
    expect([...legacy.scales.values()].every((s) => s.every((v) => v === 1))).toBe(true);
    expect(calibrationNote(legacy)).toMatch(/predate calibration/);
    expect(calibrationNote(means)).toMatch(/uncalibrated/);
  });
});
