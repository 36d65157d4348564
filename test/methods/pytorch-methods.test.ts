import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/gpu/tensor.js';
import { modelFromFile, type Model } from '../../src/graph/model.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import type { SafetensorsFile } from '../../src/io/safetensors.js';
import { cam, camRaw } from '../../src/methods/cam.js';
import { gradCamPlusPlus, hiResCam, xGradCam } from '../../src/methods/cam-variants.js';
import { finishCam, type Attribution } from '../../src/methods/common.js';
import { gradCam, gradCamRaw } from '../../src/methods/grad-cam.js';
import { deconvnet, guidedBackprop, neuronGradient } from '../../src/methods/guided-backprop.js';
import { guidedGradCam } from '../../src/methods/guided-grad-cam.js';
import { blendHybrid, hybridGradLayerCam } from '../../src/methods/hybrid.js';
import { integratedGradients } from '../../src/methods/integrated-gradients.js';
import { layerCam, layerCamFused } from '../../src/methods/layer-cam.js';
import { saliency } from '../../src/methods/saliency.js';
import { scoreCam } from '../../src/methods/score-cam.js';
import { smoothGrad } from '../../src/methods/smooth-grad.js';
import { normalAt } from '../../src/util/random.js';
import { compareClose, correlation } from '../util/compare.js';
import { testEngine } from '../util/gpu.js';
import { cifarFile } from '../util/shared-data.js';
import { releaseConv2dWeightCache } from '../../src/kernels/conv2d.js';

// References from tools/make_method_references.py: an independent PyTorch implementation of each method's
// formula (docs/design.md section 2 and src/methods/*.ts), on the real CIFAR ResNet-20 and the first 4 test1000 images,
// targets = top-1. Parameters below must match the script's (they are also in the file's metadata).
const MIN_CORRELATION = 0.999;

const engine = await testEngine();
const ref: SafetensorsFile = await readSafetensorsFile(
  fileURLToPath(new URL('../references/methods/resnet20.safetensors', import.meta.url)),
);
const model: Model = modelFromFile(engine, await readSafetensorsFile(cifarFile('resnet20.safetensors')));
const inputShape = ref.info('input').shape;
const x = engine.upload(ref.getF32('input'), inputShape, 'input');
const refTargets = Array.from(ref.get('targets').data as BigInt64Array, Number);
const [N, , H, W] = inputShape;
// The first forward + backward leaves ~2.3 MB of lasting engine/model state (created once, reused after);
// warm up, then everything live (weights, input, that state) is all that may be live after the tests.
// Packed conv weights are a cache whose contents follow the batch sizes run (Winograd's tile does):
// measured without it.
engine.release((await saliency(model, x)).maps);
await engine.finish();
releaseConv2dWeightCache(engine);
const baselineLiveBytes = engine.pool.stats.liveBytes;

afterAll(() => {
  engine.release(x);
  model.release();
});

interface Row {
  what: string;
  r: number;
  worst: number;
  scale: number;
}
const summary: Row[] = [];
afterAll(() => {
  if (!summary.length) return;
  const lines = summary.map(
    (s) => `  ${s.what.padEnd(40)} r=${s.r.toFixed(7)}  worst |diff| ${s.worst.toExponential(3)}  (max |ref| ${s.scale.toExponential(3)})`,
  );
  console.log(`method parity vs PyTorch (resnet20, ${N} images):\n${lines.join('\n')}`);
});

function assertFinite(values: Float32Array, what: string): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  expect(bad, `${what}: non-finite value ${values[bad]} at ${bad}`).toBe(-1);
}

/** Correlation gate with the worst absolute difference in the message, whatever the outcome. */
function expectCorrelated(actual: Float32Array, expected: Float32Array, what: string, min = MIN_CORRELATION): void {
  expect(actual.length, `${what}: ${actual.length} values, reference ${expected.length}`).toBe(expected.length);
  assertFinite(actual, what);
  const r = correlation(actual, expected);
  const worst = compareClose(actual, expected, { atol: 0, rtol: 0, what }).worstAbs;
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  summary.push({ what, r, worst, scale });
  expect(
    r,
    `${what}: correlation ${r.toFixed(7)} (min ${min}); worst |diff| ${worst.toExponential(3)} (max |ref| ${scale.toExponential(3)})`,
  ).toBeGreaterThanOrEqual(min);
}

async function checkAttribution(a: Attribution, key: string, kind: 'heatmap' | 'signed'): Promise<void> {
  try {
    expect(a.kind, `${key}: kind`).toBe(kind);
    expect(a.maps.shape, `${key}: shape`).toEqual(kind === 'heatmap' ? [N, 1, H, W] : [N, 3, H, W]);
    const values = await a.maps.readF32();
    if (kind === 'heatmap') {
      const lo = values.reduce((m, v) => Math.min(m, v), Infinity);
      const hi = values.reduce((m, v) => Math.max(m, v), -Infinity);
      expect(lo >= 0 && hi <= 1 + 1e-6, `${key}: heatmap range [${lo}, ${hi}] is not within [0, 1]`).toBe(true);
    }
    expectCorrelated(values, ref.getF32(key), key);
  } finally {
    engine.release(a.maps);
  }
}

async function read(t: Tensor): Promise<Float32Array> {
  const v = await t.readF32();
  engine.release(t);
  return v;
}

describe('attribution methods match PyTorch references (resnet20, first 4 CIFAR test images)', () => {
  it('uses the same top-1 targets as the reference', async () => {
    const a = await saliency(model, x);
    engine.release(a.maps);
    expect(a.targets, 'top-1 targets').toEqual(refTargets);
  });

  /** `also`: a second reference the same maps must match, at its own minimum correlation. */
  const CASES: { key: string; kind: 'heatmap' | 'signed'; run: () => Promise<Attribution>; also?: { key: string; min: number } }[] = [
    { key: 'saliency', kind: 'heatmap', run: () => saliency(model, x) },
    { key: 'deconvnet', kind: 'signed', run: () => deconvnet(model, x) },
    { key: 'guided_backprop', kind: 'signed', run: () => guidedBackprop(model, x) },
    { key: 'cam', kind: 'heatmap', run: () => cam(model, x) },
    { key: 'grad_cam_layer3', kind: 'heatmap', run: () => gradCam(model, x, { layer: 'layer3' }) },
    { key: 'grad_cam_layer2', kind: 'heatmap', run: () => gradCam(model, x, { layer: 'layer2' }) },
    { key: 'guided_grad_cam', kind: 'signed', run: () => guidedGradCam(model, x, { layer: 'layer3' }) },
    { key: 'layer_cam_layer3', kind: 'heatmap', run: () => layerCam(model, x, { layer: 'layer3' }) },
    { key: 'layer_cam_layer2', kind: 'heatmap', run: () => layerCam(model, x, { layer: 'layer2' }) },
    { key: 'layer_cam_fused', kind: 'heatmap', run: () => layerCamFused(model, x, ['layer2', 'layer3']) },
    { key: 'hybrid', kind: 'heatmap', run: () => hybridGradLayerCam(model, x, { layer: 'layer3', alpha: 0.7 }) },
    { key: 'grad_cam_plus_plus', kind: 'heatmap', run: () => gradCamPlusPlus(model, x, { layer: 'layer3' }) },
    { key: 'xgrad_cam', kind: 'heatmap', run: () => xGradCam(model, x, { layer: 'layer3' }) },
    { key: 'hires_cam', kind: 'heatmap', run: () => hiResCam(model, x, { layer: 'layer3' }) },
    { key: 'grad_cam_plus_plus_layer2', kind: 'heatmap', run: () => gradCamPlusPlus(model, x, { layer: 'layer2' }) },
    { key: 'xgrad_cam_layer2', kind: 'heatmap', run: () => xGradCam(model, x, { layer: 'layer2' }) },
    { key: 'hires_cam_layer2', kind: 'heatmap', run: () => hiResCam(model, x, { layer: 'layer2' }) },
    // pytorch-grad-cam's ScoreCAM itself differs only in its masks' min-max eps (1e-8).
    {
      key: 'score_cam_layer3',
      kind: 'heatmap',
      run: () => scoreCam(model, x, { layer: 'layer3' }),
      also: { key: 'score_cam_pgc_layer3', min: 0.99 },
    },
    { key: 'score_cam_layer2', kind: 'heatmap', run: () => scoreCam(model, x, { layer: 'layer2', batchSize: 7 }) },
    { key: 'smoothgrad', kind: 'heatmap', run: () => smoothGrad(model, x, { samples: 8, sigma: 0.15, seed: 0 }) },
    {
      key: 'smoothgrad_absolute',
      kind: 'heatmap',
      run: () => smoothGrad(model, x, { samples: 4, sigma: 0.5, sigmaScale: 'absolute', seed: 7, batchSize: 3 }),
    },
    { key: 'integrated_gradients', kind: 'signed', run: () => integratedGradients(model, x, { steps: 16, baseline: 0 }) },
    {
      key: 'integrated_gradients_gl_black',
      kind: 'signed',
      run: () => integratedGradients(model, x, { steps: 8, baseline: 'black', rule: 'gausslegendre', batchSize: 5 }),
    },
  ];
  for (const c of CASES) {
    it(c.key, async () => {
      const a = await c.run();
      expect(a.targets, `${c.key}: targets`).toEqual(refTargets);
      if (c.also) expectCorrelated(await a.maps.readF32(), ref.getF32(c.also.key), `${c.key} vs ${c.also.key}`, c.also.min);
      await checkAttribution(a, c.key, c.kind);
    });
  }

  it('guided_backprop_neuron (layer2.0, strongest activation per image)', async () => {
    const { grad, units } = await neuronGradient(model, x, { layer: 'layer2.0' }, 'guided');
    const refUnits = Array.from(ref.get('guided_backprop_neuron_units').data as BigInt64Array, Number);
    expect(
      units.flatMap((u) => [u.channel, u.row, u.col]),
      'chosen units (channel, row, col) per image',
    ).toEqual(refUnits);
    expectCorrelated(await read(grad), ref.getF32('guided_backprop_neuron'), 'guided_backprop_neuron');
    // The public entry point picks the same units.
    const a = await guidedBackprop(model, x, { neuron: { layer: 'layer2.0' } });
    engine.release(a.maps);
    expect(a.targets, 'guidedBackprop({neuron}) reports the chosen channels').toEqual(units.map((u) => u.channel));
  });

  it('refuses neurons and targets of the wrong kind from JavaScript, saying what they must be', async () => {
    // A fractional channel used to pass the range check and seed a unit it does not name.
    const dispatches = engine.stats.dispatches;
    for (const neuron of [{ layer: 'layer2.0', channel: 0.5 }, 3, { channel: 1 }, { layer: 'layer2.0', row: -1 }])
      await expect(guidedBackprop(model, x, { neuron: neuron as never })).rejects.toThrow(
        /neuron must be \{ layer, channel\?, row\?, col\? \}/,
      );
    expect(engine.stats.dispatches, 'no pass ran for a bad neuron').toBe(dispatches);
    for (const target of ['3', null, { class: 3 }])
      await expect(gradCam(model, x, { target: target as never })).rejects.toThrow(
        /target must be 'top1', a class index or one class index per image/,
      );
  });

  it('cam_raw and grad_cam_raw at layer3 (before ReLU and normalisation)', async () => {
    const c = await camRaw(model, x);
    expect(c.cam.shape, 'cam raw shape').toEqual(ref.info('cam_raw').shape);
    expectCorrelated(await read(c.cam), ref.getF32('cam_raw'), 'cam_raw');
    const g = await gradCamRaw(model, x, { layer: 'layer3' });
    expectCorrelated(await read(g.cam), ref.getF32('grad_cam_raw'), 'grad_cam_raw');
  });

  it('SmoothGrad noise: normalAt reproduces the streams the reference drew, bit for bit', () => {
    const head = JSON.parse(ref.metadata.smoothgrad_noise_head) as number[];
    const streams = Number(ref.metadata.smoothgrad_noise_streams);
    const perStream = Number(ref.metadata.smoothgrad_noise_per_stream);
    expect(streams * perStream, 'noise values in the reference').toBeGreaterThan(10000);
    let sum = 0;
    for (let s = 0; s < streams; s++) for (let p = 0; p < perStream; p++) sum += normalAt(0, s, p);
    const got = head.map((_, p) => normalAt(0, 0, p));
    expect(got, `first ${head.length} normals of stream 0`).toEqual(head);
    expect(sum, `float64 sum of ${streams} x ${perStream} normals`).toBe(Number(ref.metadata.smoothgrad_noise_sum));
  });
});

describe('method identities', () => {
  it('Grad-CAM at the last stage equals ReLU(CAM)/(H*W) before normalisation', async () => {
    const c = await camRaw(model, x);
    const g = await gradCamRaw(model, x, { layer: c.layer });
    expect(c.targets).toEqual(g.targets);
    expect(g.cam.shape).toEqual(c.cam.shape);
    const hw = c.cam.shape[2] * c.cam.shape[3];
    const camV = await read(c.cam);
    const gcV = await read(g.cam);
    const lhs = gcV.map((v) => Math.max(v, 0));
    const rhs = camV.map((v) => Math.max(v, 0) / hw);
    const scale = rhs.reduce((m, v) => Math.max(m, v), 0);
    const r = compareClose(lhs, rhs, {
      atol: 1e-5 * scale,
      rtol: 1e-4,
      shape: c.cam.shape,
      what: `ReLU(gradCamRaw(${c.layer})) vs ReLU(camRaw)/${hw}`,
    });
    expect(r.ok, r.message).toBe(true);
    // Stronger: before the ReLU too (the GAP gradient is w_c / (H W) at every position).
    const pre = compareClose(
      gcV,
      camV.map((v) => v / hw),
      { atol: 1e-5 * scale, rtol: 1e-4, shape: c.cam.shape, what: 'gradCamRaw vs camRaw/(H*W), no ReLU' },
    );
    expect(pre.ok, pre.message).toBe(true);
  });

  it('Hybrid with alpha = 1 is Grad-CAM and with alpha = 0 is LayerCAM', async () => {
    for (const layer of ['layer3', 'layer2']) {
      const gc = await read((await gradCam(model, x, { layer })).maps);
      const lc = await read((await layerCam(model, x, { layer })).maps);
      const h1 = await read((await hybridGradLayerCam(model, x, { layer, alpha: 1 })).maps);
      const h0 = await read((await hybridGradLayerCam(model, x, { layer, alpha: 0 })).maps);
      assertFinite(h1, `hybrid alpha=1 at ${layer}`);
      assertFinite(h0, `hybrid alpha=0 at ${layer}`);
      const a = compareClose(h1, gc, { atol: 1e-6, rtol: 1e-5, shape: [N, 1, H, W], what: `hybrid(alpha=1) vs grad-cam at ${layer}` });
      expect(a.ok, a.message).toBe(true);
      const b = compareClose(h0, lc, {
        atol: 1e-6,
        rtol: 1e-5,
        shape: [N, 1, H, W],
        what: `hybrid(alpha=0) vs layer-cam at ${layer} (0^0 must be 1)`,
      });
      expect(b.ok, b.message).toBe(true);
    }
  });

  it('Guided Grad-CAM is zero wherever Grad-CAM is zero', async () => {
    let zerosSeen = 0;
    for (const layer of ['layer3', 'layer2']) {
      const gc = await read((await gradCam(model, x, { layer })).maps);
      const ggc = await read((await guidedGradCam(model, x, { layer })).maps);
      const plane = H * W;
      for (let n = 0; n < N; n++) {
        for (let p = 0; p < plane; p++) {
          if (gc[n * plane + p] !== 0) continue;
          zerosSeen++;
          for (let ch = 0; ch < 3; ch++) {
            const v = ggc[(n * 3 + ch) * plane + p];
            if (v !== 0)
              expect.fail(
                `guided grad-cam at ${layer} is ${v} at image ${n}, channel ${ch}, pixel (${Math.floor(p / W)}, ${p % W}) where grad-cam is 0`,
              );
          }
        }
      }
    }
    // Grad-CAM at layer2 is zero on ~27% of the pixels for these images: the check is not vacuous.
    expect(zerosSeen, 'pixels where grad-cam is exactly zero').toBeGreaterThan(100);
  });

  it('a map whose weighted sum is negative everywhere gives all zeros, never NaN (finishCam)', async () => {
    const data = Float32Array.from({ length: 2 * 8 * 8 }, (_, i) => -0.01 - ((i * 37) % 64) / 10);
    const t = engine.upload(data, [2, 1, 8, 8], 'negative.cam');
    const out = await read(finishCam(engine, t, [32, 32]));
    engine.release(t);
    assertFinite(out, 'finishCam(negative)');
    expect(
      out.every((v) => v === 0),
      'finishCam(negative) is all zeros',
    ).toBe(true);
    // A constant negative map too (max - min = 0 before the ReLU).
    const c = engine.upload(new Float32Array(64).fill(-3), [1, 1, 8, 8], 'constant.cam');
    const outC = await read(finishCam(engine, c, [32, 32]));
    engine.release(c);
    assertFinite(outC, 'finishCam(constant negative)');
    expect(
      outC.every((v) => v === 0),
      'finishCam(constant negative) is all zeros',
    ).toBe(true);
  });

  it('every CAM-family heatmap spans [0, 1]: min-max comes after upsampling', async () => {
    const runs: [string, () => Promise<Attribution>][] = [
      ['cam', () => cam(model, x)],
      ['grad-cam', () => gradCam(model, x, { layer: 'layer2' })],
      ['layer-cam', () => layerCam(model, x, { layer: 'layer2' })],
      ['grad-cam++', () => gradCamPlusPlus(model, x, { layer: 'layer2' })],
      ['xgrad-cam', () => xGradCam(model, x, { layer: 'layer2' })],
      ['hires-cam', () => hiResCam(model, x, { layer: 'layer2' })],
      ['score-cam', () => scoreCam(model, x, { layer: 'layer2' })],
    ];
    for (const [name, run] of runs) {
      const maps = await read((await run()).maps);
      for (let n = 0; n < N; n++) {
        const img = maps.subarray(n * H * W, (n + 1) * H * W);
        const peak = img.reduce((m, v) => Math.max(m, v), 0);
        const low = img.reduce((m, v) => Math.min(m, v), 1);
        // 1 up to minmax's eps (1e-7 / (max - min)); normalising before upsampling peaked at 0.64-0.99.
        expect(peak, `${name} image ${n}: peak ${peak} (a map normalised before upsampling peaks below 1)`).toBeGreaterThan(0.9999);
        expect(low, `${name} image ${n}: minimum`).toBe(0);
      }
    }
  });

  it('one-pass Hybrid equals the two-pass blend of Grad-CAM and LayerCAM maps', async () => {
    for (const [layer, alpha] of [
      ['layer3', 0.7],
      ['layer2', 0.4],
    ] as const) {
      const gc = await gradCam(model, x, { layer });
      const lc = await layerCam(model, x, { layer, target: gc.targets });
      const twoPass = await read(blendHybrid(model, gc.maps, lc.maps, alpha));
      engine.releaseAll(gc.maps, lc.maps);
      const onePass = await hybridGradLayerCam(model, x, { layer, alpha });
      expect(onePass.targets).toEqual(gc.targets);
      const r = compareClose(await read(onePass.maps), twoPass, { atol: 0, rtol: 0, shape: [N, 1, H, W], what: `hybrid at ${layer}` });
      expect(r.ok, r.message).toBe(true);
    }
  });

  it('SmoothGrad of an image does not depend on the batch it runs in', async () => {
    const opts = { samples: 3, sigma: 0.15, seed: 5 };
    const batch = await read((await smoothGrad(model, x, opts)).maps);
    const host = await x.readF32();
    const plane = 3 * H * W;
    const x2 = engine.upload(host.slice(2 * plane, 3 * plane), [1, 3, H, W], 'image2');
    const alone = await read((await smoothGrad(model, x2, opts)).maps);
    engine.release(x2);
    const r = compareClose(alone, batch.subarray(2 * H * W, 3 * H * W), { atol: 0, rtol: 0, what: 'image 2 alone vs in the batch' });
    expect(r.ok, r.message).toBe(true);
  });

  it('a real target whose raw Grad-CAM is negative everywhere gives all zeros, never NaN', async () => {
    const cases = JSON.parse(ref.metadata.negative_grad_cam_cases) as { image: number; class: number; layer: string; max_raw: number }[];
    // tools/make_method_references.py searched 10 classes x 4 images x 10 layers; resnet20 has some.
    expect(cases.length, 'all-negative Grad-CAM cases found by the reference script').toBeGreaterThan(0);
    for (const c of cases) {
      const raw = await gradCamRaw(model, x, { layer: c.layer, target: c.class });
      const plane = raw.cam.shape[2] * raw.cam.shape[3];
      const rawV = (await read(raw.cam)).subarray(c.image * plane, (c.image + 1) * plane);
      const maxRaw = rawV.reduce((m, v) => Math.max(m, v), -Infinity);
      expect(
        maxRaw,
        `image ${c.image}, class ${c.class}, ${c.layer}: raw Grad-CAM max ${maxRaw} (PyTorch ${c.max_raw}) should be < 0`,
      ).toBeLessThan(0);
      const a = await gradCam(model, x, { layer: c.layer, target: c.class });
      const maps = await read(a.maps);
      const img = maps.subarray(c.image * H * W, (c.image + 1) * H * W);
      assertFinite(img, `grad-cam image ${c.image} class ${c.class} at ${c.layer}`);
      expect(
        img.every((v) => v === 0),
        `grad-cam image ${c.image} class ${c.class} at ${c.layer} is all zeros`,
      ).toBe(true);
    }
  });

  it('guided backprop at a single layer1.0 neuron only touches its 7x7 receptive field', async () => {
    const { grad, units } = await neuronGradient(model, x, { layer: 'layer1.0' }, 'guided');
    const g = await read(grad);
    const plane = H * W;
    const rf = 3; // stem 3x3 + two 3x3 convs in the block: 7x7, half-width 3 (the identity shortcut's is 3x3)
    units.forEach((u, n) => {
      let inside = 0;
      let nonzeroInside = 0;
      for (let ch = 0; ch < 3; ch++) {
        for (let i = 0; i < H; i++) {
          for (let j = 0; j < W; j++) {
            const v = g[(n * 3 + ch) * plane + i * W + j];
            const inBox = Math.abs(i - u.row) <= rf && Math.abs(j - u.col) <= rf;
            if (inBox) {
              inside++;
              if (v !== 0) nonzeroInside++;
            } else if (v !== 0) {
              expect.fail(
                `image ${n}, unit (c ${u.channel}, ${u.row}, ${u.col}): input gradient ${v} at channel ${ch}, pixel (${i}, ${j}), outside the 7x7 receptive field`,
              );
            }
          }
        }
      }
      expect(
        nonzeroInside,
        `image ${n}, unit (c ${u.channel}, ${u.row}, ${u.col}): nonzero input gradients inside the receptive field (${nonzeroInside}/${inside})`,
      ).toBeGreaterThan(0);
    });
  });

  it('CAM refuses a model without a GAP + linear head, pointing to grad-cam', async () => {
    const plain = modelFromFile(engine, await readSafetensorsFile(cifarFile('convnetjs_plain_cnn.safetensors')));
    const xp = engine.zeros([1, 3, 32, 32], 'f32', 'plain.input');
    try {
      await expect(cam(plain, xp)).rejects.toThrow(/grad-cam/i);
    } finally {
      engine.release(xp);
      plain.release();
    }
  });
});

describe('memory', () => {
  it('the methods above released every temporary tensor', () => {
    releaseConv2dWeightCache(engine);
    const leaked = engine.pool.stats.liveBytes - baselineLiveBytes;
    expect(leaked, `${leaked} bytes still live beyond the weights and the input (a failed test above may leave some)`).toBe(0);
  });
});
