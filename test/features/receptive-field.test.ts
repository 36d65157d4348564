import { describe, expect, it } from 'vitest';
import { datasetFromFile, normalizedBatch } from '../../src/data/image-dataset.js';
import { architectureFromName, buildGraph, shapeOnlyGraph } from '../../src/graph/architectures/registry.js';
import { GraphBuilder, uploadParameters } from '../../src/graph/builder.js';
import { runForward } from '../../src/graph/executor.js';
import type { Graph } from '../../src/graph/graph.js';
import { INPUT } from '../../src/graph/graph.js';
import { modelFromFile } from '../../src/graph/model.js';
import type { WeightSource } from '../../src/graph/weights.js';
import { receptiveField, receptiveFieldBox, unitsSeeingPixel, type ReceptiveField } from '../../src/features/receptive-field.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import type { Engine } from '../../src/gpu/engine.js';
import { seededRandom } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';

// Hand-computed with r = 1 + sum (k_l - 1) J_{l-1}, J = prod strides (worked out in the comments).
describe('receptive fields match hand-computed values', () => {
  const cases: [arch: string, layer: string, size: number, jump: number, note: string][] = [
    // conv1_1..conv5_3: 3,5 | pool 6 (J2) | 10,14 | 16 (J4) | 24,32,40 | 44 (J8) | 60,76,92 | 100 (J16) | 132,164,196
    ['vgg16', 'features.28', 196, 16, 'VGG-16 conv5_3'],
    ['vgg16', 'features.29', 196, 16, 'VGG-16 conv5_3 ReLU'],
    ['vgg16', 'features.30', 212, 32, 'VGG-16 pool5: 196 + 1*16'],
    ['vgg16_bn', 'features.41', 196, 16, 'VGG-16-BN conv5_3 BN (same geometry)'],
    // conv1 7/2: 7 (J2) | maxpool 3/2: 11 (J4) | layer1 3 x 3x3: 35 | layer2 43 (J8) + 3*16 = 91 |
    // layer3 107 (J16) + 5*32 = 267 | layer4 299 (J32) + 2*64 = 427
    ['resnet50', 'layer4', 427, 32, 'ResNet-50 layer4'],
    ['resnet50', 'layer3', 267, 16, 'ResNet-50 layer3'],
    ['resnet50', 'maxpool', 11, 4, 'ResNet-50 stem'],
    // BasicBlocks have two 3x3 convs: layer1 11 + 2*2*4 = 27 ... layer4 435
    ['resnet18', 'layer4', 435, 32, 'ResNet-18 layer4'],
    // CIFAR ResNet-20: conv1 3 | layer1 3 blocks * 2 convs * 2 = 15 | layer2.0: 17 (J2) + 4 = 21 | layer2 21 + 2*8 = 37 | layer3.0 41 (J4) + 8 = 49 | layer3 81
    ['cifar_resnet20', 'relu', 3, 1, 'CIFAR ResNet-20 stem'],
    ['cifar_resnet20', 'layer1', 15, 1, 'CIFAR ResNet-20 layer1'],
    ['cifar_resnet20', 'layer2.0', 21, 2, 'CIFAR ResNet-20 layer2.0'],
    ['cifar_resnet20', 'layer2', 37, 2, 'CIFAR ResNet-20 layer2'],
    ['cifar_resnet20', 'layer3', 81, 4, 'CIFAR ResNet-20 layer3'],
    // MobileNetV2: stem 3x3/2: 3 (J2) | only the 3x3 depthwise convs widen (1x1s add nothing):
    // features.1 +2*2 = 7 | .2 /2: 11 (J4) | .3 19 | .4 /2: 27 (J8) | .5 43, .6 59 | .7 /2: 75 (J16) |
    // .8-.13 +32 each: 267 | .14 /2: 299 (J32) | .15-.17 +64 each: 491 | .18 (1x1) 491
    ['mobilenet_v2', 'features.0', 3, 2, 'MobileNetV2 stem'],
    ['mobilenet_v2', 'features.3', 19, 4, 'MobileNetV2 features.3 (residual: the conv branch)'],
    ['mobilenet_v2', 'features.7', 75, 16, 'MobileNetV2 features.7'],
    ['mobilenet_v2', 'features.13', 267, 16, 'MobileNetV2 features.13'],
    ['mobilenet_v2', 'features.18', 491, 32, 'MobileNetV2 last conv'],
    // DenseNet-121: conv0 7/2: 7 (J2) | pool0 3/2: 11 (J4) | each dense layer's 3x3 adds 2J (the concat
    // follows its deepest input): block1 6 layers 11 + 48 = 59 | transition1 pool 2/2: 63 (J8) |
    // block2 12 layers: 63 + 192 = 255 | transition2: 263 (J16) | block3 24 layers: 1031 |
    // transition3: 1047 (J32) | block4 16 layers: 2071
    ['densenet121', 'features.pool0', 11, 4, 'DenseNet-121 stem'],
    ['densenet121', 'features.denseblock1.denselayer1', 19, 4, 'DenseNet-121 first dense layer'],
    ['densenet121', 'features.denseblock1', 59, 4, 'DenseNet-121 denseblock1'],
    ['densenet121', 'features.transition1', 63, 8, 'DenseNet-121 transition1'],
    ['densenet121', 'features.denseblock2', 255, 8, 'DenseNet-121 denseblock2'],
    ['densenet121', 'features.denseblock3', 1031, 16, 'DenseNet-121 denseblock3'],
    ['densenet121', 'features.norm5', 2071, 32, 'DenseNet-121 norm5'],
  ];
  for (const [arch, layer, size, jump, note] of cases) {
    it(`${note}: ${arch} ${layer} size ${size}, jump ${jump}`, () => {
      const inputSize: [number, number] = arch.startsWith('cifar') ? [32, 32] : [224, 224];
      const rf = receptiveField(shapeOnlyGraph(arch, arch.startsWith('cifar') ? 10 : 1000), layer, inputSize);
      expect(rf.size).toEqual([size, size]);
      expect(rf.jump).toEqual([jump, jump]);
    });
  }

  it('follows the main branch of a ResNet, not the downsample', () => {
    const rf = receptiveField(shapeOnlyGraph('resnet50'), 'layer2.0', [224, 224]);
    expect(rf.path).toContain('layer2.0.conv2');
    expect(rf.path).not.toContain('layer2.0.downsample.0');
    expect(receptiveField(shapeOnlyGraph('resnet50'), 'layer2.0.downsample', [224, 224]).size).toEqual([35, 35]);
  });

  it('gives offsets and output sizes: VGG-16 conv5_3 units start at 7.5 and are 14x14 at 224', () => {
    const rf = receptiveField(shapeOnlyGraph('vgg16'), 'features.28', [224, 224]);
    expect(rf.offset).toEqual([7.5, 7.5]);
    expect(rf.outputSize).toEqual([14, 14]);
    // The unit at (7, 7) is centred on 7.5 + 112 and sees 196 pixels, clipped to the image.
    expect(receptiveFieldBox(rf, 7, 7, false)).toEqual({ y0: 22, x0: 22, y1: 218, x1: 218 });
    expect(receptiveFieldBox(rf, 0, 0)).toEqual({ y0: 0, x0: 0, y1: 106, x1: 106 });
  });

  it('marks vectors after global pooling as whole-image units', () => {
    const rf = receptiveField(shapeOnlyGraph('resnet50'), 'fc', [224, 224]);
    expect(rf.global).toBe(true);
    expect(receptiveFieldBox(rf, 0, 0)).toEqual({ y0: 0, x0: 0, y1: 224, x1: 224 });
  });
});

// ---------------------------------------------------------------- brute-force probes

interface Probe {
  /** Pixel perturbed in probe image p (1-based; image 0 is the baseline). */
  pixels: [number, number][];
  changed: (layer: string, p: number) => { y: number; x: number }[];
}

/** Runs baseline + one image per perturbed pixel; returns which units of each layer changed (any channel). */
async function probe(
  e: Engine,
  graph: Graph,
  base: Float32Array,
  [h, w]: [number, number],
  pixels: [number, number][],
  delta: number[],
  layers: string[],
): Promise<Probe & { shapes: Map<string, readonly number[]> }> {
  const plane = h * w;
  const images = 1 + pixels.length * delta.length;
  const data = new Float32Array(images * 3 * plane);
  for (let i = 0; i < images; i++) data.set(base, i * 3 * plane);
  pixels.forEach(([py, px], k) =>
    delta.forEach((d, s) => {
      const img = 1 + k * delta.length + s;
      for (let c = 0; c < 3; c++) data[(img * 3 + c) * plane + py * w + px] += d;
    }),
  );
  const x = e.upload(data, [images, 3, h, w], 'probe.images');
  // Winograd convs mix a tile's whole input patch at the rounding level: the probe needs exact locality.
  e.winograd = false;
  const trace = runForward(e, graph, x, { keep: layers, forBackward: false });
  e.winograd = true;
  const acts = new Map<string, Float32Array>();
  const shapes = new Map<string, readonly number[]>();
  for (const l of layers) {
    acts.set(l, await trace.activation(l).readF32());
    shapes.set(l, trace.activation(l).shape);
  }
  trace.release();
  e.release(x);
  return {
    pixels,
    shapes,
    changed(layer, p) {
      const a = acts.get(layer)!;
      const [, C, H, W] = shapes.get(layer)!;
      const out: { y: number; x: number }[] = [];
      for (let y = 0; y < H; y++) {
        for (let xx = 0; xx < W; xx++) {
          let diff = false;
          for (let s = 0; s < delta.length && !diff; s++) {
            const img = 1 + p * delta.length + s;
            for (let c = 0; c < C && !diff; c++) diff = a[((img * C + c) * H + y) * W + xx] !== a[(c * H + y) * W + xx];
          }
          if (diff) out.push({ y, x: xx });
        }
      }
      return out;
    },
  };
}

function predicted(rf: ReceptiveField, py: number, px: number): { y: number; x: number }[] {
  const r = unitsSeeingPixel(rf, py, px);
  const out: { y: number; x: number }[] = [];
  if (!r) return out;
  for (let y = r.y[0]; y <= r.y[1]; y++) for (let x = r.x[0]; x <= r.x[1]; x++) out.push({ y, x });
  return out;
}

const key = (u: { y: number; x: number }) => `${u.y},${u.x}`;

/** [min y, max y, min x, max x] of units given as keys or points. */
function span(us: ({ y: number; x: number } | string)[]): number[] {
  const pts = us.map((u) => (typeof u === 'string' ? { y: Number(u.split(',')[0]), x: Number(u.split(',')[1]) } : u));
  return [
    Math.min(...pts.map((u) => u.y)),
    Math.max(...pts.map((u) => u.y)),
    Math.min(...pts.map((u) => u.x)),
    Math.max(...pts.map((u) => u.x)),
  ];
}

/** Positive weights, zero biases and BN shifts: every unit that depends on a pixel responds to it. */
function positiveWeights(seed: number): WeightSource {
  const rnd = seededRandom(seed);
  return {
    description: 'positive',
    names: () => [],
    shapeOf: () => undefined,
    get(name, shape) {
      const n = shape.reduce((a, b) => a * b, 1);
      const leaf = name.slice(name.lastIndexOf('.') + 1);
      if (leaf === 'running_mean' || leaf === 'bias') return new Float32Array(n);
      if (leaf === 'running_var') return new Float32Array(n).fill(1);
      return Float32Array.from({ length: n }, () => 0.5 + 0.5 * rnd());
    },
  };
}

describe('receptive fields match a brute-force probe (perturb one pixel, see which units change)', async () => {
  const e = await testEngine();

  it('on a synthetic net (strides, dilation, padding, pools, groups, residual add) the changed units are exactly the predicted ones', async () => {
    // Zero input, positive weights, no biases: activations are exactly 0 until a pixel is set, and then
    // every unit with a path to it becomes positive (ReLU and max-pool pass positive values), so the set
    // of changed units is the true dependency set.
    const b = new GraphBuilder(uploadParameters(e, positiveWeights(7)));
    let v = b.conv('c1', INPUT, 3, 4, 3, { padding: 1 });
    v = b.relu('r1', b.batchNorm('bn1', v, 4));
    v = b.relu('r2', b.conv('c2', v, 4, 4, 3, { stride: 2, padding: 1 }));
    v = b.relu('r3', b.conv('c3', v, 4, 4, 3, { padding: 2, dilation: 2 }));
    v = b.maxPool('mp', v, { kernel: 3, stride: 2, padding: 1 });
    const main = b.conv('blk.conv2', b.relu('blk.relu', b.conv('blk.conv1', v, 4, 4, 3, { padding: 1 })), 4, 4, 3, { padding: 1 });
    const short = b.conv('blk.down', v, 4, 4, 1);
    v = b.alias('blk', b.relu('blk.out', b.add('blk.add', main, short)));
    v = b.avgPool('ap', v, { kernel: 2, stride: 2 });
    v = b.relu('r5', b.conv('c5', v, 4, 4, 3, { padding: 1, groups: 2 }));
    b.conv('c6', v, 4, 2, 3, { stride: [1, 2], padding: [1, 0] });
    const layers = ['c1', 'r1', 'r2', 'r3', 'mp', 'blk.down', 'blk', 'ap', 'r5', 'c6'];
    const size: [number, number] = [40, 36];
    const pixels: [number, number][] = [
      [20, 18],
      [0, 0],
      [0, 27],
      [39, 13],
      [17, 35],
      [11, 5],
      [39, 35],
    ];
    const result = await probe(e, b.graph, new Float32Array(3 * 40 * 36), size, pixels, [1], layers);
    for (const layer of layers) {
      const rf = receptiveField(b.graph, layer, size);
      const shape = result.shapes.get(layer)!;
      expect(rf.outputSize, `${layer} output size`).toEqual([shape[2], shape[3]]);
      pixels.forEach(([py, px], p) => {
        const got = result.changed(layer, p).map(key).sort();
        const want = predicted(rf, py, px).map(key).sort();
        const what = `${layer} (r=${rf.size}, J=${rf.jump}, offset=${rf.offset}), pixel (${py}, ${px})`;
        if (!rf.path.includes('c3')) {
          expect(got, what).toEqual(want);
        } else {
          // A dilated conv reads every other unit, so the true dependency set has holes (gridding) until a
          // later window fills them: the field is its bounding box.
          expect(
            got.filter((u) => !want.includes(u)),
            `${what}: outside the field`,
          ).toEqual([]);
          expect(span(got), `${what}: extent`).toEqual(span(want));
        }
      });
    }
    b.graph.release(e);
  });

  // The zero-input, positive-weight probe on whole torchvision graphs: depthwise convs, inverted
  // residuals and ReLU6 (MobileNetV2); concatenations, transitions' average pools (DenseNet-121).
  // Activations grow without bound through positive weights and may reach inf, which still differs from
  // the exact zeros outside the field.
  const archCases: [arch: string, size: number, layers: string[]][] = [
    ['mobilenet_v2', 64, ['features.0', 'features.1', 'features.2', 'features.3', 'features.5']],
    ['densenet121', 96, ['features.pool0', 'features.denseblock1.denselayer2', 'features.denseblock1', 'features.transition1']],
  ];
  for (const [arch, side, layers] of archCases) {
    it(`${arch} at ${side}x${side}: the changed units are exactly the predicted ones`, async () => {
      const graph = buildGraph(architectureFromName(arch, 10)!, uploadParameters(e, positiveWeights(11)), e);
      const size: [number, number] = [side, side];
      const pixels: [number, number][] = [
        [side / 2, side / 2 + 1],
        [0, 0],
        [side - 1, 5],
        [7, side - 2],
      ];
      const result = await probe(e, graph, new Float32Array(3 * side * side), size, pixels, [1], layers);
      for (const layer of layers) {
        const rf = receptiveField(graph, layer, size);
        const shape = result.shapes.get(layer)!;
        expect(rf.outputSize, `${layer} output size`).toEqual([shape[2], shape[3]]);
        pixels.forEach(([py, px], p) => {
          const got = result.changed(layer, p).map(key).sort();
          const want = predicted(rf, py, px).map(key).sort();
          expect(got, `${arch} ${layer} (r=${rf.size}, J=${rf.jump}, offset=${rf.offset}), pixel (${py}, ${px})`).toEqual(want);
        });
      }
      graph.release(e);
    });
  }

  const dataset = datasetFromFile(await readSafetensorsFile(cifarFile('test1000.safetensors')));
  const realCases: [file: string, layers: string[]][] = [
    ['resnet20.safetensors', ['relu', 'layer1.0', 'layer1', 'layer2.0', 'layer2', 'layer3.0']],
    ['convnetjs_plain_cnn.safetensors', ['features.1', 'features.2', 'features.4', 'features.5', 'features.7']],
  ];
  for (const [file, layers] of realCases) {
    it(`on the trained ${file}: no unit outside the field ever changes, and the changed units span the predicted range`, async () => {
      const model = modelFromFile(e, await readSafetensorsFile(cifarFile(file)));
      const base = normalizedBatch(dataset, 3, 1, model.info);
      const pixels: [number, number][] = [
        [16, 16],
        [0, 0],
        [5, 30],
        [31, 9],
      ];
      // A large perturbation of both signs: a unit whose ReLUs happen to block one sign rarely blocks both.
      const result = await probe(e, model.graph, base, [32, 32], pixels, [25, -25], layers);
      for (const layer of layers) {
        const rf = receptiveField(model, layer);
        pixels.forEach(([py, px], p) => {
          const want = predicted(rf, py, px);
          const wantKeys = new Set(want.map(key));
          const got = result.changed(layer, p);
          const outside = got.filter((u) => !wantKeys.has(key(u)));
          expect(outside, `${file} ${layer}: units outside the field of pixel (${py}, ${px}) changed`).toEqual([]);
          expect(
            span(got),
            `${file} ${layer} (r=${rf.size[0]}, J=${rf.jump[0]}): extent of the changed units for pixel (${py}, ${px})`,
          ).toEqual(span(want));
        });
      }
      model.release();
    });
  }
});
