import { describe, expect, it } from 'vitest';
import { datasetFromFile, normalizedBatch } from '../../src/data/image-dataset.js';
import { filterGrid, readConvWeights, rgbFilterTiles } from '../../src/features/filters.js';
import { datasetSource } from '../../src/features/image-source.js';
import { nearestNeighbours, type Metric } from '../../src/features/knn.js';
import { GLYPH_HEIGHT, textWidth } from '../../src/features/font.js';
import { maxActivatingPatches, renderPatches } from '../../src/features/patches.js';
import { receptiveField, receptiveFieldBox } from '../../src/features/receptive-field.js';
import { defaultFeatureLayer, extractFeatures } from '../../src/features/representation.js';
import { neighbourStrips } from '../../src/features/strips.js';
import { modelFromFile } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { randomArray } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

const e = await testEngine();
const weightsFile = await readSafetensorsFile(cifarFile('resnet20.safetensors'));
const model = modelFromFile(e, weightsFile);
const dataset = datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors')));

describe('filters', () => {
  it('reads the first conv back from the GPU and draws each filter as a min-max RGB tile', async () => {
    const w = await readConvWeights(model, 'conv1');
    expect(w.shape).toEqual([16, 3, 3, 3]);
    expect(Array.from(w.weight)).toEqual(Array.from(weightsFile.getF32('conv1.weight')));
    const tiles = rgbFilterTiles(w);
    expect(tiles).toHaveLength(16);
    for (const t of tiles) {
      expect(Math.min(...t.data)).toBe(0);
      expect(Math.max(...t.data)).toBe(255);
    }
    // Filter 0, pixel (0, 0), red = weight[0, 0, 0, 0] scaled by that filter's own range.
    const f0 = w.weight.subarray(0, 27);
    const [lo, hi] = [Math.min(...f0), Math.max(...f0)];
    expect(tiles[0].data[0]).toBe(Math.round((255 * (f0[0] - lo)) / (hi - lo + 1e-7)));
    const grid = await filterGrid(model);
    // 4 x 4 tiles of 3x3 upscaled 8x, 2 px padding: 4 * 24 + 5 * 2.
    expect([grid.layer, grid.mode, grid.image.width, grid.image.height]).toEqual(['conv1', 'rgb', 106, 106]);
  });

  it('draws any conv as grey tiles per input channel, and refuses layers that are not convolutions', async () => {
    const grid = await filterGrid(model, 'layer2.0.conv1', { maxFilters: 4, maxChannels: 5, scale: 4 });
    expect([grid.mode, grid.filters, grid.channels]).toEqual(['grey', 4, 5]);
    expect([grid.image.width, grid.image.height]).toEqual([5 * 12 + 6, 4 * 12 + 5]);
    await expect(filterGrid(model, 'layer1.0')).rejects.toThrow(/not a convolution; conv layers: conv1, layer1.0.conv1/);
    await expect(filterGrid(model, 'layer9')).rejects.toThrow(/unknown layer "layer9"/);
  });
});

describe('maximally activating patches', () => {
  const source = datasetSource(dataset, 60);

  it('keeps, per channel, the top-K images by max activation and the field of the argmax unit', async () => {
    const layer = 'layer1.0';
    const channels = [0, 7];
    const scan = await maxActivatingPatches(model, source, { layer, channels, top: 4, batchSize: 25 });
    // Brute force: one batch of all 60 images.
    const x = e.upload(normalizedBatch(dataset, 0, 60, model.info), [60, 3, 32, 32], 'images');
    const trace = model.forward(x, { keep: [layer], forBackward: false });
    const a = await trace.activation(layer).readF32();
    const [, C, H, W] = trace.activation(layer).shape;
    trace.release();
    x.release();
    const rf = receptiveField(model, layer);
    expect(rf.size).toEqual([7, 7]);
    channels.forEach((c, ci) => {
      const best = Array.from({ length: 60 }, (_, n) => {
        let arg = 0;
        for (let p = 1; p < H * W; p++) if (a[(n * C + c) * H * W + p] > a[(n * C + c) * H * W + arg]) arg = p;
        return { image: n, value: a[(n * C + c) * H * W + arg], unit: [Math.floor(arg / W), arg % W] };
      }).sort((p, q) => q.value - p.value || p.image - q.image);
      const got = scan.channels[ci].top;
      expect(got.map((t) => t.image)).toEqual(best.slice(0, 4).map((b) => b.image));
      got.forEach((t, r) => {
        expect(t.value).toBe(best[r].value);
        expect(t.unit).toEqual(best[r].unit);
        expect(t.box).toEqual(receptiveFieldBox(rf, t.unit[0], t.unit[1]));
      });
    });
    const pictures = await renderPatches(source, scan, { scale: 4 });
    expect(pictures.perChannel).toHaveLength(2);
    // A title line, then one row per channel of 4 crops of at most 7x7 upscaled 4x with 2 px padding,
    // each row labelled with its channel on the left.
    const sheet = pictures.sheet;
    expect(sheet.height).toBe(GLYPH_HEIGHT + 2 * 2 + 2 * (28 + 2) + 2);
    const labelW = Math.max(...channels.map((c) => textWidth(`channel ${c}`))) + 2 * 2;
    expect(sheet.width).toBeGreaterThanOrEqual(labelW + 4 * (28 + 2) + 2);
    const inkInLabels = (row: number) => {
      const y0 = GLYPH_HEIGHT + 4 + row * 30 + 2;
      for (let y = y0; y < y0 + 28; y++) for (let x = 0; x < labelW; x++) if (sheet.data[3 * (y * sheet.width + x)] < 100) return true;
      return false;
    };
    expect([inkInLabels(0), inkInLabels(1)]).toEqual([true, true]);
    // Per-channel grids carry their channel as a title.
    expect(pictures.perChannel[0].height).toBe(GLYPH_HEIGHT + 2 * 3 + 2 * (28 + 2) + 2);
  });

  it('says how many channels a layer has when a channel is out of range', async () => {
    await expect(maxActivatingPatches(model, source, { layer: 'layer1', channels: [3, 16], top: 2, batchSize: 10 })).rejects.toThrow(
      /channel 16 is out of range: layer "layer1" has 16 channels \(0..15\)/,
    );
    await expect(maxActivatingPatches(model, source, { layer: 'flatten', channels: [0] })).rejects.toThrow(/is a vector/);
  });
});

/** CPU brute force in float64 on the same float32 features. */
function bruteForce(f: Float32Array, dim: number, q: number, metric: Metric): { j: number; d: number }[] {
  const n = f.length / dim;
  const norm = (i: number) => Math.sqrt(Array.from(f.subarray(i * dim, (i + 1) * dim)).reduce((s, v) => s + v * v, 0));
  const rows: { j: number; d: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (j === q) continue;
    let dot = 0;
    let sq = 0;
    for (let t = 0; t < dim; t++) {
      dot += f[q * dim + t] * f[j * dim + t];
      sq += (f[q * dim + t] - f[j * dim + t]) ** 2;
    }
    rows.push({ j, d: metric === 'euclidean' ? Math.sqrt(sq) : 1 - dot / (norm(q) * norm(j)) });
  }
  return rows.sort((a, b) => a.d - b.d);
}

/** Same neighbours in the same order, except where the true distances tie to within fp32 rounding. */
function expectSameNeighbours(got: Int32Array, dist: Float32Array, want: { j: number; d: number }[], tol: number, what: string): void {
  const exact = new Map(want.map((w) => [w.j, w.d]));
  got.forEach((j, r) => {
    expect(Math.abs(dist[r] - exact.get(j)!), `${what}: distance of neighbour ${r}`).toBeLessThan(tol);
    if (j !== want[r].j)
      expect(Math.abs(exact.get(j)! - want[r].d), `${what}: rank ${r} is ${j}, brute force says ${want[r].j}`).toBeLessThan(tol);
  });
}

describe('representation space', async () => {
  const source = datasetSource(dataset, 100);
  const real = await extractFeatures(model, source, { batchSize: 50 });

  it('takes the penultimate features (the input of the final linear layer) by default: linear(features) = logits', async () => {
    expect(defaultFeatureLayer(model)).toBe('flatten');
    const f = real;
    expect([f.layer, f.count, f.dim]).toEqual(['flatten', 100, 64]);
    expect(Array.from(f.labels.slice(0, 5))).toEqual(Array.from(dataset.labels.slice(0, 5)));
    const W = weightsFile.getF32('linear.weight');
    const b = weightsFile.getF32('linear.bias');
    const x = e.upload(normalizedBatch(dataset, 0, 20, model.info), [20, 3, 32, 32], 'images');
    const logits = await model.logits(x);
    x.release();
    let worst = 0;
    for (let n = 0; n < 20; n++) {
      for (let k = 0; k < 10; k++) {
        let y = b[k];
        for (let d = 0; d < 64; d++) y += W[k * 64 + d] * f.data[n * 64 + d];
        worst = Math.max(worst, Math.abs(y - logits[n * 10 + k]));
      }
    }
    expect(worst).toBeLessThan(1e-3);
    // Global average pooling of a conv layer: 16 channels at layer1.
    const g = await extractFeatures(model, source, { layer: 'layer1', indices: [5, 6, 7, 90] });
    expect([g.count, g.dim, Array.from(g.labels)]).toEqual([4, 16, [5, 6, 7, 90].map((i) => dataset.labels[i])]);
  });

  for (const metric of ['euclidean', 'cosine'] as Metric[]) {
    it(`nearest neighbours (${metric}) on the GPU equal a CPU brute force, on real and random features`, async () => {
      const random = randomArray(300 * 48, 5);
      for (const [name, f, dim] of [
        ['ResNet-20 features', real.data, 64],
        ['random', random, 48],
      ] as const) {
        const queries = [0, 1, 2, 17, 60, 99];
        const got = await nearestNeighbours(e, f, dim, queries, { k: 8, metric });
        queries.forEach((q, r) => {
          const want = bruteForce(f, dim, q, metric);
          expectSameNeighbours(
            got.indices[r],
            got.distances[r],
            want,
            metric === 'cosine' ? 2e-6 : 2e-5 * want[0].d + 1e-5,
            `${name} query ${q}`,
          );
        });
      }
    });
  }

  it('draws query-and-neighbour strips', async () => {
    const strips = await neighbourStrips(source, [0, 1], [Int32Array.from([3, 4, 5]), Int32Array.from([6, 7, 8])], { scale: 2 });
    expect(strips.height).toBeGreaterThan(2 * 64);
    expect(strips.width).toBeGreaterThan(4 * 64);
  });
});
