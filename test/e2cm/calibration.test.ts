import { describe, expect, it } from 'vitest';
import { expectedCalibrationError, fitTemperature, negativeLogLikelihood, softmaxOfNegative } from '../../src/e2cm/calibration.js';
import { simulateEarlyExit, type ExitPredictions } from '../../src/e2cm/early-exit.js';
import { NEVER, searchExitThresholds, searchSingleThreshold } from '../../src/e2cm/thresholds.js';
import { uniformRandom } from '../../src/util/random.js';

/** Labels drawn from softmax(-d/T) over random distances: T is the true temperature. */
function sampledSet(n: number, classes: number, temperature: number, seed: number) {
  const rand = uniformRandom(seed);
  const distances = Float32Array.from({ length: n * classes }, () => 1 + 3 * rand());
  const probs = softmaxOfNegative(distances, classes, temperature);
  const labels = Array.from({ length: n }, (_, i) => {
    let u = rand();
    for (let k = 0; k < classes; k++) if ((u -= probs[i * classes + k]) <= 0) return k;
    return classes - 1;
  });
  return { distances, labels };
}

describe('temperature scaling', () => {
  it('recovers the temperature the labels were drawn with, and minimises the NLL', () => {
    for (const T of [0.2, 0.7, 2]) {
      const { distances, labels } = sampledSet(4000, 10, T, 7);
      const fitted = fitTemperature(distances, labels, 10);
      expect(Math.abs(Math.log(fitted / T)), `fitted ${fitted} for true ${T}`).toBeLessThan(0.15);
      const at = (t: number) => negativeLogLikelihood(distances, labels, 10, t);
      for (const f of [0.8, 0.95, 1.05, 1.25]) expect(at(fitted), `NLL at ${fitted} vs ${fitted * f}`).toBeLessThanOrEqual(at(fitted * f));
    }
  });

  it('NLL matches the definition computed naively', () => {
    const { distances, labels } = sampledSet(50, 4, 1, 3);
    const p = softmaxOfNegative(distances, 4, 0.5);
    const naive = -labels.reduce((s, y, i) => s + Math.log(p[i * 4 + y]), 0) / labels.length;
    expect(negativeLogLikelihood(distances, labels, 4, 0.5)).toBeCloseTo(naive, 5);
  });

  it('perfectly separated classes drive the temperature to its floor (confidence 1)', () => {
    const distances = new Float32Array([0, 5, 5, 0, 0, 5]);
    const T = fitTemperature(distances, [0, 1, 0], 2);
    expect(T).toBeLessThan(0.01);
    expect(softmaxOfNegative(distances, 2, T)[0]).toBe(1);
  });
});

describe('expected calibration error (15 bins)', () => {
  it('is 0 when each bin is as accurate as it is confident, and the gap otherwise', () => {
    const conf = Array(10).fill(0.8);
    expect(expectedCalibrationError(conf, [true, true, true, true, true, true, true, true, false, false])).toBeCloseTo(0, 10);
    expect(expectedCalibrationError(conf, Array(10).fill(true))).toBeCloseTo(0.2, 10);
  });

  it('weights bins by their share of images; bin edges are (b/15, (b+1)/15]', () => {
    // 1/15 belongs to bin 0, just above it to bin 1: two bins, each half the images.
    const conf = [1 / 15, 1 / 15, 1 / 15 + 1e-6, 1 / 15 + 1e-6];
    const ece = expectedCalibrationError(conf, [true, true, false, false]);
    expect(ece).toBeCloseTo(0.5 * (1 - 1 / 15) + 0.5 * (1 / 15 + 1e-6), 6);
  });
});

/** Random exit observations: each exit right with a probability rising with depth and with its confidence. */
function randomPredictions(n: number, exits: number, seed: number): ExitPredictions {
  const rand = uniformRandom(seed);
  const labels = Array.from({ length: n }, () => Math.floor(rand() * 10));
  const finalPrediction = labels.map((y) => (rand() < 0.9 ? y : (y + 1) % 10));
  const nearest: number[][] = [];
  const confidence: number[][] = [];
  for (let i = 0; i < n; i++) {
    nearest.push([]);
    confidence.push([]);
    for (let j = 0; j < exits; j++) {
      const c = Math.min(1, rand() * (0.4 + (0.6 * (j + 1)) / exits) + 0.1);
      confidence[i].push(c);
      nearest[i].push(rand() < c ? labels[i] : (labels[i] + 1 + Math.floor(rand() * 9)) % 10);
    }
  }
  const layerCost = Array.from({ length: exits }, (_, j) => (j + 1) / (exits + 1));
  return {
    exits: layerCost.map((_, j) => `e${j}`),
    nearest,
    confidence,
    finalPrediction,
    labels,
    layerCost,
    exitCost: layerCost.map(() => 1e-4),
  };
}

describe('per-exit threshold search', () => {
  it('never loses more than the allowed accuracy on the split it was chosen on, and saves compute', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const pred = randomPredictions(300, 1 + (seed % 6), seed);
      const base = simulateEarlyExit(pred, NEVER).accuracy;
      for (const drop of [0, 0.01, 0.05]) {
        const choice = searchExitThresholds(pred, { maxAccuracyDrop: drop });
        const again = simulateEarlyExit(pred, choice.thresholds);
        expect(again.accuracy, `seed ${seed}, drop ${drop}: ${again.accuracy} vs final ${base}`).toBeGreaterThanOrEqual(
          base - drop - 1e-12,
        );
        expect(again.computeFraction).toBeCloseTo(choice.result.computeFraction, 12);
        // The front starts at "no exit" and only gets cheaper.
        expect(choice.front[0].computeFraction).toBe(1);
        for (let k = 1; k < choice.front.length; k++)
          expect(choice.front[k].computeFraction).toBeLessThan(choice.front[k - 1].computeFraction);
        const single = searchSingleThreshold(pred, { maxAccuracyDrop: drop });
        expect(single.result.accuracy).toBeGreaterThanOrEqual(base - drop - 1e-12);
        if (drop === 0.05) expect(choice.result.computeFraction, `seed ${seed}: some exit fires within 5 points`).toBeLessThan(1);
      }
    }
  });

  it('an exit that is always right and certain takes every image; one that is never better than chance takes none', () => {
    const sure = randomPredictions(200, 3, 5);
    sure.nearest = sure.nearest.map((row, i) => row.map((v, j) => (j === 0 ? sure.finalPrediction[i] : v)));
    sure.confidence = sure.confidence.map((row) => row.map((v, j) => (j === 0 ? 1 : v)));
    const taken = searchExitThresholds(sure, { maxAccuracyDrop: 0 });
    expect(simulateEarlyExit(sure, taken.thresholds).exitCounts[0]).toBe(200);

    const chance = randomPredictions(200, 3, 6);
    chance.nearest = chance.nearest.map((row, i) => row.map(() => (chance.labels[i] + 1 + (i % 9)) % 10));
    const none = searchExitThresholds(chance, { maxAccuracyDrop: 0.01 });
    expect(none.thresholds).toEqual([NEVER, NEVER, NEVER]);
    expect(simulateEarlyExit(chance, none.thresholds).exitCounts[3]).toBe(200);
  });

  it('does not trust an exit that agreed on this split by luck while its calibrated confidence expects it wrong', () => {
    const lucky = randomPredictions(200, 2, 8);
    // Exit 0 agrees with the final classifier on every image here, at a calibrated confidence of 0.6.
    lucky.nearest = lucky.nearest.map((row, i) => [lucky.finalPrediction[i], row[1]]);
    lucky.confidence = lucky.confidence.map((row) => [0.6, row[1]]);
    const choice = searchExitThresholds(lucky, { maxAccuracyDrop: 0.05 });
    expect(choice.thresholds[0], 'expected wrong: 40 % of the images that exit there').toBe(NEVER);
    expect(simulateEarlyExit(lucky, [0.5, NEVER]).changed).toBe(0);
  });

  it('counts the cost of evaluating active exits, and nothing for exits that never fire', () => {
    const pred = randomPredictions(10, 2, 9);
    pred.exitCost = [0.01, 0.02];
    expect(simulateEarlyExit(pred, NEVER).computeFraction).toBe(1);
    // Exit 0 active but never passed (threshold just below 1 with confidences < 1): every image pays it.
    pred.confidence = pred.confidence.map((r) => r.map(() => 0.5));
    expect(simulateEarlyExit(pred, [0.99, NEVER]).computeFraction).toBeCloseTo(1.01, 12);
    expect(simulateEarlyExit(pred, [0.4, 0.4]).computeFraction).toBeCloseTo(pred.layerCost[0] + 0.01, 12);
  });
});
