import { describe, expect, it } from 'vitest';
import { causalMetrics, gaussianKernel, saliencyRanks, trapezoidAuc } from '../../src/metrics/insertion-deletion.js';
import { randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { REGION_SIZE, regionModel, regionModelLogitsCpu } from '../util/region-model.js';

const engine = await testEngine();

/** Independent CPU computation: zero-padded Gaussian blur, step images, CPU model, softmax, trapezoid. */
function cpuCurves(x: Float32Array, saliency: Float32Array, size: number, step: number) {
  const plane = size * size;
  const k = gaussianKernel(11, 5);
  const blurred = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let xx = 0; xx < size; xx++) {
        let s = 0;
        for (let dy = -5; dy <= 5; dy++) {
          for (let dx = -5; dx <= 5; dx++) {
            const yy = y + dy;
            const xs = xx + dx;
            if (yy >= 0 && yy < size && xs >= 0 && xs < size) s += k[(dy + 5) * 11 + dx + 5] * x[c * plane + yy * size + xs];
          }
        }
        blurred[c * plane + y * size + xx] = s;
      }
    }
  }
  const order = Array.from({ length: plane }, (_, i) => i).sort((a, b) => saliency[b] - saliency[a] || a - b);
  const target = 0; // the region class wins on the clean image (checked below)
  const score = (img: Float32Array) => {
    const l = regionModelLogitsCpu(img, 1);
    return 1 / (1 + Math.exp(l[1 - target] - l[target]));
  };
  const steps = Math.ceil(plane / step);
  const ins: number[] = [];
  const del: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const shown = new Set(order.slice(0, Math.min(plane, s * step)));
    const a = new Float32Array(x.length);
    const b = new Float32Array(x.length);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        a[c * plane + p] = shown.has(p) ? x[c * plane + p] : blurred[c * plane + p];
        b[c * plane + p] = shown.has(p) ? 0 : x[c * plane + p];
      }
    }
    ins.push(score(a));
    del.push(score(b));
  }
  return { ins, del };
}

describe('insertion and deletion', () => {
  it('trapezoid AUC over steps normalised to [0, 1]', () => {
    expect(trapezoidAuc([1, 1, 1])).toBeCloseTo(1);
    expect(trapezoidAuc([0, 1])).toBeCloseTo(0.5);
    expect(trapezoidAuc([0, 0.5, 1, 1])).toBeCloseTo((0.25 + 0.75 + 1) / 3);
  });

  it('ranks: most salient first, ties by index', () => {
    expect(Array.from(saliencyRanks([0.1, 0.9, 0.5, 0.9]))).toEqual([3, 0, 2, 1]);
  });

  it('equal an independent CPU computation on a small case', async () => {
    const size = REGION_SIZE;
    const model = regionModel(engine);
    const xHost = randomArray(3 * size * size, 11, 0.2, 1);
    const saliency = randomArray(size * size, 12, 0, 1);
    const x = engine.upload(xHost, [1, 3, size, size], 'x');
    const r = await causalMetrics(model, x, saliency, { pixelsPerStep: 7, batchSize: 8 });
    const ref = cpuCurves(xHost, saliency, size, 7);
    expect(r.target).toBe(0);
    const worst = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    expect(r.insertion.scores.length).toBe(ref.ins.length);
    expect(worst(r.insertion.scores, ref.ins), `insertion worst diff`).toBeLessThan(1e-5);
    expect(worst(r.deletion.scores, ref.del), `deletion worst diff`).toBeLessThan(1e-5);
    expect(r.insertion.auc).toBeCloseTo(trapezoidAuc(ref.ins), 5);
    expect(r.deletion.auc).toBeCloseTo(trapezoidAuc(ref.del), 5);
    engine.release(x);
    model.release();
  });

  it('refuse steps, blurs and batches they cannot use before any pass', async () => {
    const size = REGION_SIZE;
    const model = regionModel(engine);
    const x = engine.upload(randomArray(3 * size * size, 13, 0.2, 1), [1, 3, size, size], 'x');
    const saliency = randomArray(size * size, 14, 0, 1);
    const dispatches = engine.stats.dispatches;
    const refused: [object, RegExp][] = [
      [{ pixelsPerStep: 0 }, /pixelsPerStep must be a positive integer, got 0/],
      [{ pixelsPerStep: 2.5 }, /pixelsPerStep must be a positive integer, got 2.5/],
      [{ blurSize: 4 }, /blurSize must be an odd positive integer, got 4/],
      [{ blurSigma: 0 }, /blurSigma must be a finite number > 0, got 0/],
      [{ batchSize: 0 }, /batchSize must be a positive integer, got 0/],
    ];
    for (const [opts, message] of refused) await expect(causalMetrics(model, x, saliency, opts)).rejects.toThrow(message);
    expect(engine.stats.dispatches).toBe(dispatches);
    engine.release(x);
    model.release();
  });
});
