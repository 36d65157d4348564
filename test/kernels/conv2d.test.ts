import { describe, expect, it } from 'vitest';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dFlops,
  conv2dForward,
  conv2dForwardKernel,
  conv2dOutputShape,
  conv2dUsesWinograd,
  selectConv2dVariant,
  type Conv2dOptions,
  type Conv2dVariant,
} from '../../src/kernels/conv2d.js';
import { winogradTileFor } from '../../src/kernels/winograd.js';
import { formatShape } from '../../src/gpu/errors.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { testEngine } from '../util/gpu.js';
import { conv2dCases } from './conv2d.cases.js';

const engine = await testEngine();

/** The kernels (WGSL file.entry) one call dispatches, in order; the tensor it returns is released. */
async function dispatchedKernels(call: () => Tensor): Promise<string[]> {
  const p = await engine.profile(async () => {
    const out = call();
    await engine.finish();
    out.release();
  });
  return p.dispatches.map((d) => d.kernel);
}

describe('conv2d kernels vs CPU reference', () => {
  for (const c of conv2dCases) it(c.name, () => c.run(engine));
});

describe('conv2d shapes and selection', () => {
  it('computes PyTorch output shapes and FLOPs', () => {
    expect(conv2dOutputShape([1, 3, 224, 224], [64, 3, 7, 7], { stride: 2, padding: 3 })).toEqual([1, 64, 112, 112]);
    expect(conv2dOutputShape([2, 8, 10, 9], [4, 4, 3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 })).toEqual([
      2, 4, 5, 7,
    ]);
    expect(conv2dFlops([1, 64, 56, 56], [64, 64, 3, 3], { padding: 1 })).toBe(2 * 64 * 56 * 56 * 64 * 9);
  });

  it('takes Winograd for large stride-1 3x3 convs, F(4x4) where there are tiles for it, and never with engine.winograd off', () => {
    const opts = { padding: 1 };
    expect(conv2dUsesWinograd(engine, [1, 256, 14, 14], [256, 256, 3, 3], opts)).toBe(true);
    expect(conv2dUsesWinograd(engine, [1, 256, 14, 14], [256, 256, 3, 3], opts, true)).toBe(true);
    expect(conv2dUsesWinograd(engine, [1, 16, 32, 32], [16, 16, 3, 3], opts)).toBe(false); // too few channels
    expect(conv2dUsesWinograd(engine, [1, 64, 56, 56], [64, 64, 3, 3], { padding: 1, stride: 2 })).toBe(false);
    // 32 channels on rows of whole vec4s: the subgroup kernels' direct rows entry, Winograd elsewhere
    const cifar32: [number[], number[]] = [
      [250, 32, 16, 16],
      [32, 32, 3, 3],
    ];
    // 64 channels: the rows entry below 128 F(4x4) tiles (CIFAR's last stage up to batch 31), Winograd from there
    const cifar64 = (batch: number): [number[], number[]] => [
      [batch, 64, 8, 8],
      [64, 64, 3, 3],
    ];
    for (const variant of ['subgroup', 'register'] as const) {
      for (const backward of [false, true]) {
        expect(conv2dUsesWinograd(engine, ...cifar32, { ...opts, variant }, backward)).toBe(variant !== 'subgroup');
        expect(conv2dUsesWinograd(engine, ...cifar64(8), { ...opts, variant }, backward)).toBe(variant !== 'subgroup');
        expect(conv2dUsesWinograd(engine, ...cifar64(32), { ...opts, variant }, backward)).toBe(true);
      }
    }
    expect(conv2dUsesWinograd(engine, [250, 64, 8, 8], [64, 64, 3, 3], { ...opts, variant: 'subgroup' })).toBe(true);
    expect(conv2dUsesWinograd(engine, [1, 64, 56, 56], [64, 64, 3, 3], { ...opts, variant: 'direct' })).toBe(false);
    expect(winogradTileFor({ N: 1, CI: 512, CO: 512, H: 7, W: 7, Ho: 7, Wo: 7, pad: 1 })).toBe(2);
    expect(winogradTileFor({ N: 8, CI: 512, CO: 512, H: 7, W: 7, Ho: 7, Wo: 7, pad: 1 })).toBe(4);
    engine.winograd = false;
    try {
      expect(conv2dUsesWinograd(engine, [1, 256, 14, 14], [256, 256, 3, 3], opts)).toBe(false);
      expect(conv2dUsesWinograd(engine, [1, 256, 14, 14], [256, 256, 3, 3], { ...opts, winograd: true })).toBe(true);
    } finally {
      engine.winograd = true;
    }
    expect(() =>
      conv2dForward(engine, engine.zeros([1, 4, 8, 8]), engine.zeros([4, 4, 3, 3]), null, { stride: 2, winograd: true }),
    ).toThrow(/winograd: true needs a stride-1/);
  });

  it('names the kernel conv2dForward runs (the graph fuses a residual add by it), as conv2dForward dispatches it', async () => {
    if (!engine.capabilities.subgroupKernels) return expect(selectConv2dVariant(engine)).not.toBe('subgroup');
    const sg = { padding: 1, variant: 'subgroup' } as const;
    // [x, w, options, the name, the start of a kernel it dispatches]
    const cases: [number[], number[], Conv2dOptions, string, string][] = [
      [[2, 16, 32, 32], [16, 16, 3, 3], sg, 'mid_s1_rows', 'conv2d_gemm_sg.mid_s1_rows'],
      [[2, 32, 16, 16], [32, 32, 3, 3], sg, 'mid_s1_rows', 'conv2d_gemm_sg.mid_s1_rows'], // two channel tiles
      [[1, 96, 8, 8], [96, 96, 3, 3], sg, 'wide_s1_rows', 'conv2d_gemm_sg.wide_s1_rows'], // too few tiles for Winograd
      [[2, 16, 32, 32], [32, 16, 3, 3], { ...sg, stride: 2 }, 'wide_s2_rows', 'conv2d_gemm_sg.wide_s2_rows'],
      [[8, 64, 16, 16], [64, 64, 3, 3], sg, 'winograd', 'winograd.transform_input'],
      [[2, 64, 8, 8], [64, 64, 3, 3], sg, 'mid_s1_rows', 'conv2d_gemm_sg.mid_s1_rows'], // 8 tiles: rows beat Winograd
      [[1, 3, 64, 64], [64, 3, 7, 7], { stride: 2, padding: 3, variant: 'subgroup' }, 'columns', 'conv2d.im2col_quads'],
      [[1, 32, 8, 8], [32, 1, 3, 3], { ...sg, groups: 32 }, 'direct', 'conv2d.forward'],
      [[1, 16, 32, 32], [16, 16, 3, 3], { padding: 1, variant: 'direct' }, 'direct', 'conv2d.forward'],
    ];
    for (const [xShape, wShape, opts, name, dispatched] of cases) {
      const what = `${formatShape(wShape)} on ${formatShape(xShape)} ${JSON.stringify(opts)}`;
      expect(conv2dForwardKernel(engine, xShape, wShape, opts), what).toBe(name);
      const x = engine.zeros(xShape);
      const w = engine.zeros(wShape);
      const kernels = await dispatchedKernels(() => conv2dForward(engine, x, w, null, opts));
      expect(
        kernels.some((k) => k.startsWith(dispatched)),
        `${what} dispatched ${kernels.join(', ')}`,
      ).toBe(true);
      engine.releaseAll(x, w);
    }
  });

  it('runs strided convs, and 1x1 convs on planes that are not whole vec4s, through patch columns in pixel quads and a flat GEMM on the subgroup kernels', async () => {
    if (!engine.capabilities.subgroupKernels) return expect(selectConv2dVariant(engine)).not.toBe('subgroup');
    const entries = async (xShape: number[], wShape: number[], stride: number) => {
      const x = engine.zeros(xShape);
      const w = engine.zeros(wShape);
      const kernels = await dispatchedKernels(() =>
        conv2dForward(engine, x, w, null, { stride, padding: (wShape[2] - 1) / 2, variant: 'subgroup' }),
      );
      engine.releaseAll(x, w);
      return kernels;
    };
    // Output and input rows of whole vec4s: the columns from aligned vec4s of the input rows.
    expect(await entries([1, 3, 32, 32], [24, 3, 7, 7], 2)).toEqual([
      'conv2d.im2col_quads_rows',
      'conv2d_pack.pack_weight',
      'conv2d_gemm_sg.wide_flat_v4',
    ]);
    expect(await entries([1, 3, 30, 30], [24, 3, 7, 7], 2)).toContain('conv2d.im2col_quads'); // 15 wide out: gathered
    // 7x7 output pixels: planes padded to 52 for the flat GEMM, unpadded after; so for a 1x1 conv on 7x7.
    const padded = ['conv2d.im2col_quads', 'conv2d_pack.pack_weight', 'conv2d_gemm_sg.wide_flat_v4', 'conv2d.unpad_planes'];
    expect(await entries([1, 8, 14, 14], [24, 8, 3, 3], 2)).toEqual(padded);
    expect(await entries([1, 20, 7, 7], [24, 20, 1, 1], 1)).toEqual(padded);
    expect(await entries([1, 20, 8, 8], [24, 20, 1, 1], 1)).toEqual(['conv2d_pack.pack_weight', 'conv2d_gemm_sg.wide_flat_v4']); // whole vec4s
    expect(await entries([1, 8, 16, 16], [24, 8, 3, 3], 1)).not.toContain('conv2d.im2col_quads'); // stride 1
    // Backward to the input of that 1x1 conv on 7x7: dy padded, a flat GEMM, dx unpadded.
    const dy = engine.zeros([1, 24, 7, 7]);
    const w = engine.zeros([24, 20, 1, 1]);
    const backward = await dispatchedKernels(() => conv2dBackwardInput(engine, dy, w, [1, 20, 7, 7], { variant: 'subgroup' }));
    engine.releaseAll(dy, w);
    expect(backward.filter((k) => k !== 'conv2d_pack.pack_weight')).toEqual([
      'conv2d.im2col',
      'conv2d_gemm_sg.wide_flat_v4',
      'conv2d.unpad_planes',
    ]);
  });

  it('loads F(4x4) input rows and stores output rows as vec4s where the width is whole vec4s, one value at a time elsewhere', async () => {
    const transforms = async (width: number, padding: number) => {
      const x = engine.zeros([1, 8, 12, width]);
      const w = engine.zeros([8, 8, 3, 3]);
      const dispatched = await dispatchedKernels(() => conv2dForward(engine, x, w, null, { padding, winograd: true, winogradTile: 4 }));
      engine.releaseAll(x, w);
      return dispatched.filter((k) => /^winograd\.transform_(input|output)/.test(k));
    };
    expect(await transforms(16, 1)).toEqual(['winograd.transform_input4_rows', 'winograd.transform_output4_rows']);
    expect(await transforms(14, 1)).toEqual(['winograd.transform_input4', 'winograd.transform_output4']);
    // The input rows need padding 1 (a patch row is then one aligned vec4 and a pixel either side).
    expect(await transforms(16, 0)).toEqual(['winograd.transform_input4', 'winograd.transform_output4']);
  });

  it('runs backward to the input of strided convs through patch columns (subgroup kernels) or on a spread grid: 3x3 through Winograd F(4x4) where it suits, 1x1 through the pointwise GEMM', async () => {
    const kernels = async (xShape: number[], O: number, variant?: Conv2dVariant) => {
      const dy = engine.zeros([xShape[0], O, xShape[2] / 2, xShape[3] / 2]);
      const w = engine.zeros([O, xShape[1], 3, 3]);
      const opts = { stride: 2, padding: 1, variant };
      const dispatched = await dispatchedKernels(() => conv2dBackwardInput(engine, dy, w, xShape, opts));
      engine.releaseAll(dy, w);
      const winograd = dispatched.some((k) => k.startsWith('winograd.transform_input4'));
      expect(conv2dUsesWinograd(engine, xShape, w.shape, opts, true)).toBe(winograd);
      return dispatched;
    };
    const spread = ['conv2d.zero_insert', 'winograd.transform_input4_rows', 'winograd.transform_output4_rows'];
    // Off the subgroup kernels: the spread grid where F(4x4) suits.
    expect(await kernels([2, 32, 16, 16], 40, 'register')).toEqual(expect.arrayContaining(spread));
    if (engine.capabilities.subgroupKernels) {
      // At most 32 dx channels on rows of whole pairs of vec4s: one transposed rows job per row phase of dx.
      expect((await kernels([2, 32, 16, 16], 40)).filter((k) => k !== 'conv2d_pack.pack_weight')).toEqual([
        'conv2d_gemm_sg.mid_t2_rows',
        'conv2d_gemm_sg.mid_t2_rows',
      ]);
      // More dx channels, dy's planes whole vec4s (8x8): columns and col2im; 7x7 planes: the spread grid.
      expect((await kernels([2, 48, 16, 16], 40)).filter((k) => k !== 'conv2d_pack.pack_weight')).toEqual([
        'conv2d_gemm_sg.wide_flat_v4',
        'conv2d.col2im',
      ]);
      expect(await kernels([2, 32, 14, 14], 40)).toEqual(
        expect.arrayContaining(['conv2d.zero_insert', 'winograd.transform_input4', 'winograd.transform_output4']),
      );
    }
    expect(await kernels([1, 32, 12, 12], 40, 'register')).not.toContain('conv2d.zero_insert'); // F(2x2) tiles only: the phases
    expect(await kernels([2, 16, 16, 16], 40, 'register')).not.toContain('conv2d.zero_insert'); // 16 channels: Winograd does not suit
    expect(conv2dUsesWinograd(engine, [2, 32, 16, 16], [40, 32, 3, 3], { stride: 2, padding: 1, variant: 'register' }, true)).toBe(true);
    expect(conv2dUsesWinograd(engine, [2, 32, 16, 16], [40, 32, 3, 3], { stride: 2, padding: 1, winograd: false }, true)).toBe(false);
    // A strided 1x1 conv: the pointwise backward on the output grid (flat GEMM), then spread (subgroup kernels only).
    if (!engine.capabilities.subgroupKernels) return;
    const dy = engine.zeros([1, 24, 6, 6]);
    const w = engine.zeros([24, 20, 1, 1]);
    const downsample = await dispatchedKernels(() => conv2dBackwardInput(engine, dy, w, [1, 20, 12, 11], { stride: 2 }));
    engine.releaseAll(dy, w);
    expect(downsample.filter((k) => k !== 'conv2d_pack.pack_weight')).toEqual(['conv2d_gemm_sg.wide_flat_v4', 'conv2d.zero_insert']);
  });

  it('runs backward to the input of an RGB stem on 32-wide rows as one narrow rows conv of dy, on 224-wide rows through columns', async () => {
    if (!engine.capabilities.subgroupKernels) return;
    const kernels = async (xShape: number[], O: number) => {
      const dy = engine.zeros([xShape[0], O, xShape[2], xShape[3]]);
      const w = engine.zeros([O, xShape[1], 3, 3]);
      const dispatched = await dispatchedKernels(() => conv2dBackwardInput(engine, dy, w, xShape, { padding: 1, variant: 'subgroup' }));
      engine.releaseAll(dy, w);
      return dispatched.filter((k) => k !== 'conv2d_pack.pack_weight');
    };
    expect(await kernels([2, 3, 32, 32], 16)).toEqual(['conv2d_gemm_sg.narrow_s1_rows']); // CIFAR's stem
    expect(await kernels([1, 3, 224, 224], 64)).toEqual(['conv2d_gemm_sg.wide_flat_v4', 'conv2d.col2im']); // VGG-16's
    expect(await kernels([2, 3, 32, 32], 64)).toEqual(['conv2d_gemm_sg.wide_flat_v4', 'conv2d.col2im']); // more than 32 channels in dy
  });

  it("applies backward's ReLU in the conv's store up to engine.convBackwardEpilogueMaxBytes of dx, as one pass beyond", async () => {
    if (!engine.capabilities.subgroupKernels) return; // the subgroup kernels are the ones whose store applies it
    const kernels = async (xShape: number[], withPlus: boolean) => {
      const dy = engine.zeros([xShape[0], 16, xShape[2], xShape[3]]);
      const w = engine.zeros([16, xShape[1], 1, 1]);
      const [y, plus] = [engine.zeros(xShape), engine.zeros(xShape)];
      const relu = { y, rule: 'standard' as const, plus: withPlus ? plus : undefined };
      const dispatched = await dispatchedKernels(() => conv2dBackwardInput(engine, dy, w, xShape, { variant: 'subgroup' }, relu));
      engine.releaseAll(dy, w, y, plus);
      return dispatched.filter((k) => k.startsWith('relu.')).length;
    };
    const small = [1, 32, 16, 16]; // 32 KiB of dx
    const policy = engine.convBackwardEpilogueMaxBytes;
    try {
      if (engine.adapter.isSoftware) expect(policy, 'the software adapters default').toBe(256 * 1024);
      for (const withPlus of [false, true]) {
        engine.convBackwardEpilogueMaxBytes = 32 * 1024;
        expect(await kernels(small, withPlus), `ReLU passes at the limit${withPlus ? ', gradient added' : ''}`).toBe(0);
        engine.convBackwardEpilogueMaxBytes = 32 * 1024 - 1;
        expect(await kernels(small, withPlus), `ReLU passes past the limit${withPlus ? ', gradient added' : ''}`).toBe(1);
      }
    } finally {
      engine.convBackwardEpilogueMaxBytes = policy;
    }
  });

  it('selects the subgroup variant on a software adapter with subgroups', () => {
    const v = selectConv2dVariant(engine);
    if (!engine.adapter.isSoftware) expect(v).toBe('shared');
    else expect(v).toBe(engine.capabilities.subgroupKernels ? 'subgroup' : 'register');
  });
});

describe('conv2d bad input', () => {
  const e = engine;
  const x = e.zeros([1, 4, 8, 8]);
  const w = e.zeros([6, 4, 3, 3]);

  it('rejects a channel mismatch', () => {
    expect(() => conv2dForward(e, x, e.zeros([6, 3, 3, 3]), null)).toThrow(
      /conv2d.forward: channel mismatch.*\[1, 4, 8, 8\].*\[6, 3, 3, 3\]/,
    );
  });
  it('rejects groups that do not divide the channels', () => {
    expect(() => conv2dForward(e, x, e.zeros([6, 2, 3, 3]), null, { groups: 3 })).toThrow(/groups=3 must divide/);
    expect(() => conv2dForward(e, x, e.zeros([5, 2, 3, 3]), null, { groups: 2 })).toThrow(/groups=2 must divide.*output channels 5/);
    expect(() => conv2dForward(e, x, w, null, { groups: 0 })).toThrow(/groups must be a positive integer/);
  });
  it('rejects a kernel larger than the padded input', () => {
    expect(() => conv2dForward(e, x, e.zeros([2, 4, 11, 3]), null, { padding: 1 })).toThrow(
      /larger than the padded input 10x10.*output size would be 0x/,
    );
    expect(() => conv2dOutputShape([1, 4, 8, 8], [6, 4, 5, 5], { dilation: 3 })).toThrow(/dilation 3x3.*larger than the padded input/);
  });
  it('rejects wrong ranks, zero sizes, bad options and dtypes', () => {
    expect(() => conv2dForward(e, e.zeros([4, 8, 8]), w, null)).toThrow(/conv2d.forward: x must have rank 4, got \[4, 8, 8\]/);
    expect(() => conv2dForward(e, x, e.zeros([6, 4, 3]), null)).toThrow(/w must have rank 4/);
    expect(() => conv2dOutputShape([1, 0, 8, 8], [6, 0, 3, 3])).toThrow(/zero-size/);
    expect(() => conv2dForward(e, x, w, null, { stride: 0 })).toThrow(/stride must be an integer >= 1/);
    expect(() => conv2dForward(e, x, w, null, { padding: -1 })).toThrow(/padding must be an integer >= 0/);
    expect(() => conv2dForward(e, x, w, e.zeros([5]))).toThrow(/bias must have shape \[6\].*got \[5\]/);
    expect(() => conv2dForward(e, e.zeros([1, 4, 8, 8], 'i32'), w, null)).toThrow(/x must be f32, got i32/);
  });
  it('rejects dy that does not match the conv output', () => {
    expect(() => conv2dBackwardInput(e, e.zeros([1, 6, 7, 6]), w, [1, 4, 8, 8])).toThrow(
      /backwardInput: dy \[1, 6, 7, 6\] does not match the conv output \[1, 6, 6, 6\]/,
    );
    expect(() => conv2dBackwardWeight(e, x, e.zeros([1, 6, 8, 8]), [6, 4, 3, 3])).toThrow(
      /backwardWeight: dy \[1, 6, 8, 8\] does not match/,
    );
  });
  it('rejects a packed input over the storage binding limit', () => {
    const max = e.limits.maxStorageBufferBindingSize;
    // 3 channels pack to 4: x fits in a binding, its packed copy does not; stride 8 keeps y small.
    const side = Math.ceil(Math.sqrt(max / 14));
    if (side * side * 16 > e.limits.maxBufferSize) return;
    const big = e.empty([1, 3, side, side]);
    const wBig = e.zeros([32, 3, 3, 3]);
    expect(() => conv2dForward(e, big, wBig, null, { stride: 8, variant: 'register' })).toThrow(
      /packed input \[1, 1, \d+, \d+, 4\].*over this adapter's maxStorageBufferBindingSize/,
    );
    e.releaseAll(big, wBig);
  });
});
