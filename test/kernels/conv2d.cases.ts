import type { Engine } from '../../src/gpu/engine.js';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  prepareConv2dWeight,
  releaseConv2dWeightCache,
  selectConv2dVariant,
  type Conv2dOptions,
  type Conv2dVariant,
} from '../../src/kernels/conv2d.js';
import { RELU_RULES } from '../../src/kernels/relu.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dRef, convGeometry, convOutSize } from '../reference/conv2d.js';
import { compareClose, expectClose, randomArray } from '../util/compare.js';
import type { KernelCase } from './kernel-case.js';

/** One conv geometry: x (N, C, H, W), w (O, C/groups, KH, KW). */
export interface ConvSpec {
  name: string;
  x: [number, number, number, number];
  O: number;
  k: [number, number];
  opts: Conv2dOptions;
  bias?: boolean;
  /** Forward with the fused epilogue: batch-norm scale/shift and a residual (then the activation). */
  epilogue?: boolean;
}

/**
 * Rows-kernel geometries for a channel count `O` of each: shuffled edges (width 8), loaded ones (width 20:
 * rows of 5 tiles), a partial channel tile, groups, a 5-tap dilated kernel along H.
 */
function rowsTileCases(label: string, [o1, o2, o3, o4]: [number, number, number, number]): ConvSpec[] {
  return [
    {
      name: `${label}: 3x3 pad 1, C=5 O=${o1}, 6x8, batch 3, epilogue, relu`,
      x: [3, 5, 6, 8],
      O: o1,
      k: [3, 3],
      opts: { padding: 1, activation: 'relu' },
      bias: true,
      epilogue: true,
    },
    { name: `${label}: 3x3 pad 1, C=9 O=${o2}, 7x20 (rows straddle workgroups)`, x: [2, 9, 7, 20], O: o2, k: [3, 3], opts: { padding: 1 } },
    {
      name: `${label}: 3x3 pad 1, groups 2 (6 -> ${o3 / 2} each), 4x12`,
      x: [1, 12, 4, 12],
      O: o3,
      k: [3, 3],
      opts: { padding: 1, groups: 2 },
    },
    {
      name: `${label}: 5x3 pad [2,1] dilation [2,1], C=7 O=${o4}, 9x16`,
      x: [1, 7, 9, 16],
      O: o4,
      k: [5, 3],
      opts: { padding: [2, 1], dilation: [2, 1] },
    },
  ];
}

// Odd sizes; C and K not multiples of 4; O not a multiple of any tile (32, 4); 1x1 .. 7x7; stride 2
// and 3; padding, including more than the kernel reach; dilation 2; groups 2 and depthwise; batch 3;
// grids past one workgroup and past one 32-channel tile.
export const CONV_SPECS: ConvSpec[] = [
  { name: '3x3 pad 1, C=3 O=5, odd 7x9', x: [1, 3, 7, 9], O: 5, k: [3, 3], opts: { padding: 1 }, bias: true },
  { name: '1x1, batch 2, C=8 O=16', x: [2, 8, 12, 10], O: 16, k: [1, 1], opts: {} },
  {
    name: '3x3 stride 2 pad 1, batch 3, O=40, relu',
    x: [3, 6, 11, 13],
    O: 40,
    k: [3, 3],
    opts: { stride: 2, padding: 1, activation: 'relu' },
    bias: true,
  },
  { name: '5x5 pad 2 dilation 2', x: [1, 4, 17, 15], O: 9, k: [5, 5], opts: { padding: 2, dilation: 2 } },
  { name: '7x7 stride 2 pad 3 (stem), C=3', x: [2, 3, 23, 21], O: 12, k: [7, 7], opts: { stride: 2, padding: 3 }, bias: true },
  { name: '3x3 groups 2, bias', x: [1, 8, 9, 9], O: 12, k: [3, 3], opts: { padding: 1, groups: 2 }, bias: true },
  { name: 'depthwise 3x3, relu', x: [2, 6, 10, 8], O: 6, k: [3, 3], opts: { padding: 1, groups: 6, activation: 'relu' }, bias: true },
  { name: 'depthwise x2 multiplier, stride 2', x: [1, 4, 9, 11], O: 8, k: [3, 3], opts: { stride: 2, padding: 1, groups: 4 } },
  {
    name: 'asymmetric 3x2 kernel, stride [2,1], pad [1,0], dilation [1,2]',
    x: [1, 5, 9, 7],
    O: 10,
    k: [3, 2],
    opts: { stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
  },
  { name: '3x3 pad 1 past one workgroup, O=70', x: [2, 16, 40, 36], O: 70, k: [3, 3], opts: { padding: 1 }, bias: true },
  { name: '1x1 stride 2 (downsample)', x: [2, 12, 15, 15], O: 36, k: [1, 1], opts: { stride: 2 } },
  { name: 'C=1 3x3', x: [1, 1, 8, 8], O: 4, k: [3, 3], opts: {} },
  { name: '3x3 pad 1 on a 2x2 input', x: [1, 2, 2, 2], O: 3, k: [3, 3], opts: { padding: 1 } },
  { name: '1x1 pad 1 (padding beyond the kernel reach)', x: [1, 4, 5, 6], O: 33, k: [1, 1], opts: { padding: 1 }, bias: true },
  { name: '2x2 stride 3 (taps miss some inputs)', x: [2, 5, 10, 11], O: 7, k: [2, 2], opts: { stride: 3 } },
  { name: '5x5 stride 2 dilation 3 pad 4', x: [1, 3, 19, 17], O: 6, k: [5, 5], opts: { stride: 2, dilation: 3, padding: 4 } },
  { name: '3x3 C=32 O=64 28x28 (ResNet-like)', x: [1, 32, 28, 28], O: 64, k: [3, 3], opts: { padding: 1 }, bias: true },
  { name: '3x3 stride 2 C=20 O=36 batch 2', x: [2, 20, 14, 14], O: 36, k: [3, 3], opts: { stride: 2, padding: 1 } },
  // More than 8 input channels per group: backward to the input takes the per-phase GEMMs, not columns.
  { name: '5x5 stride 2 dilation 3 pad 4, C=12', x: [1, 12, 19, 17], O: 10, k: [5, 5], opts: { stride: 2, dilation: 3, padding: 4 } },
  { name: '3x3 stride 2 dilation 2 pad 2, C=16', x: [1, 16, 13, 12], O: 20, k: [3, 3], opts: { stride: 2, dilation: 2, padding: 2 } },
  { name: '2x2 stride 3, C=10', x: [1, 10, 10, 11], O: 7, k: [2, 2], opts: { stride: 3 } },
  {
    name: 'asymmetric, groups 2 of 9 channels',
    x: [1, 18, 9, 7],
    O: 10,
    k: [3, 2],
    opts: { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 },
  },
  { name: '1x1 pad 1, C=12', x: [1, 12, 5, 6], O: 33, k: [1, 1], opts: { padding: 1 } },
  { name: '1x1 on 7x7 (a flat row of 49 pixels), C=12 O=40', x: [2, 12, 7, 7], O: 40, k: [1, 1], opts: {}, bias: true },
  // Winograd F(2x2,3x3): odd sizes (partial tiles), padding 0 and 2, channels not multiples of 4, batch.
  {
    name: 'winograd: 3x3 pad 1, C=5 O=7, odd 9x11, batch 3, relu',
    x: [3, 5, 9, 11],
    O: 7,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
  },
  { name: 'winograd: 3x3 pad 0, C=17 O=33, 10x7', x: [1, 17, 10, 7], O: 33, k: [3, 3], opts: {} },
  { name: 'winograd: 3x3 pad 2, C=8 O=6, 5x6, batch 2', x: [2, 8, 5, 6], O: 6, k: [3, 3], opts: { padding: 2 }, bias: true },
  // Widths that are multiples of 4: F(4x4)'s vec4 transforms, every padding, the epilogue through them.
  { name: 'winograd v4: 3x3 pad 0, C=8 O=12, 12x16', x: [1, 8, 12, 16], O: 12, k: [3, 3], opts: {} },
  { name: 'winograd v4: 3x3 pad 2, C=6 O=5, 8x8, batch 2', x: [2, 6, 8, 8], O: 5, k: [3, 3], opts: { padding: 2 }, bias: true },
  {
    name: 'winograd v4: 3x3 pad 1, C=12 O=20, 16x16, epilogue, relu',
    x: [1, 12, 16, 16],
    O: 20,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  // Rows of whole vec4s with a partial last row of tiles (Ho % 4 != 0): F(4x4)'s row stores.
  {
    name: 'winograd v4: 3x3 pad 1, C=6 O=10, 10x12, batch 2, epilogue, relu',
    x: [2, 6, 10, 12],
    O: 10,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  // Enough tile groups that a mid_s1_rows workgroup runs several (REPS), its weights cached after the
  // first: 4 groups with a short last workgroup, and 8 with the epilogue.
  {
    name: 'rows, weights cached over 4 tile groups: 3x3 pad 1, C=8 O=64, 28x28, batch 5',
    x: [5, 8, 28, 28],
    O: 64,
    k: [3, 3],
    opts: { padding: 1 },
    bias: true,
  },
  {
    name: 'rows, weights cached over 8 tile groups: 3x3 pad 1, C=4 O=64, 32x32, batch 8, epilogue, relu',
    x: [8, 4, 32, 32],
    O: 64,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  // More than 1024 tiles: on software adapters Winograd runs in equal chunks of at most 1024 tiles
  // (F(4x4): 2 of 570, F(2x2): 5 of 912), which straddle images; rows of whole vec4s and not.
  {
    name: 'winograd chunks: 3x3 pad 1, C=4 O=5, 76x80, batch 3, epilogue, relu',
    x: [3, 4, 76, 80],
    O: 5,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  { name: 'winograd chunks: 3x3 pad 1, C=4 O=5, 76x78, batch 3', x: [3, 4, 76, 78], O: 5, k: [3, 3], opts: { padding: 1 } },
  // 9..16 output channels: the 8-pixel x 16-channel tile.
  {
    name: 'mid tile: 3x3 pad 1, C=16 O=16, batch 2, relu',
    x: [2, 16, 10, 9],
    O: 16,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
  },
  // ... on rows of whole vec4s with 3 taps at padding 1 (mid_s1_rows): a last tile half past the row
  // (width 12), a single half tile (width 4), rows of 3 tiles that straddle workgroups (width 24: edge
  // pixels loaded, not shuffled), channels and outputs not multiples of 4, groups, a 5-tap dilated
  // kernel along H, the epilogue through the vec4 stores.
  {
    name: 'mid rows: 3x3 pad 1, C=16 O=16, 12x12, batch 2, epilogue, relu',
    x: [2, 16, 12, 12],
    O: 16,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  { name: 'mid rows: 3x3 pad 1, C=5 O=9, 7x16, batch 3', x: [3, 5, 7, 16], O: 9, k: [3, 3], opts: { padding: 1 }, bias: true },
  { name: 'mid rows: 3x3 pad 1, C=7 O=14, 5x24 (rows straddle workgroups)', x: [2, 7, 5, 24], O: 14, k: [3, 3], opts: { padding: 1 } },
  { name: 'mid rows: 3x3 pad 1, groups 2 (4 -> 10 each), 5x4', x: [1, 8, 5, 4], O: 20, k: [3, 3], opts: { padding: 1, groups: 2 } },
  {
    name: 'mid rows: 5x3 pad [2,1] dilation [2,1], C=6 O=11, 9x8',
    x: [1, 6, 9, 8],
    O: 11,
    k: [5, 3],
    opts: { padding: [2, 1], dilation: [2, 1] },
    epilogue: true,
  },
  // ... with more than one channel tile (mid_s1_rows up to 64 output channels), and past 64 output
  // channels on the 4-pixel x 32-channel tile (wide_s1_rows): the same geometries on each.
  ...rowsTileCases('mid rows, channel tiles', [40, 33, 40, 36]),
  ...rowsTileCases('wide rows', [72, 65, 132, 68]),
  // Stride 2 along W on input rows of whole pairs of vec4s, at most 32 input channels (wide_s2_rows, in
  // place of patch columns): shuffled edges (width 16), loaded ones (width 24: rows of 3 tiles), stride
  // 1 along H with a dilation, the epilogue.
  {
    name: 's2 rows: 3x3 stride 2 pad 1, C=5 O=20, 7x16, batch 2, epilogue, relu',
    x: [2, 5, 7, 16],
    O: 20,
    k: [3, 3],
    opts: { stride: 2, padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  {
    name: 's2 rows: 3x3 stride 2 pad 1, C=9 O=33, 6x24 (rows straddle workgroups)',
    x: [1, 9, 6, 24],
    O: 33,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 's2 rows: 3x3 stride [1,2] pad 1 dilation [2,1], C=6 O=18, 5x8',
    x: [1, 6, 5, 8],
    O: 18,
    k: [3, 3],
    opts: { stride: [1, 2], padding: 1, dilation: [2, 1] },
  },
  { name: 'wide rows backward: 3x3 pad 1, C=36 O=20, 8x8, batch 2', x: [2, 36, 8, 8], O: 20, k: [3, 3], opts: { padding: 1 } },
  // Backward to the input of stride-2 3x3 convs with 9..32 input channels on rows of whole pairs of vec4s
  // (mid_t2_rows, one job per row phase of dx, in place of columns + col2im; the 6x24 s2 rows case above
  // has rows that straddle workgroups): shuffled edges (width 32), an odd height, a second channel tile
  // (20 channels), a single tile per row (width 8), groups, stride 1 along H with a dilation.
  {
    name: 'transposed rows backward: 3x3 stride 2 pad 1, C=16 O=32, 6x32, batch 2',
    x: [2, 16, 6, 32],
    O: 32,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 'transposed rows backward: 3x3 stride 2 pad 1, C=20 O=24, 7x16',
    x: [1, 20, 7, 16],
    O: 24,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 'transposed rows backward: 3x3 stride 2 pad 1, C=12 O=64, 4x8, batch 3',
    x: [3, 12, 4, 8],
    O: 64,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 'transposed rows backward: 3x3 stride 2 pad 1, groups 2 (10 -> 12 each), 6x16',
    x: [1, 20, 6, 16],
    O: 24,
    k: [3, 3],
    opts: { stride: 2, padding: 1, groups: 2 },
  },
  {
    // Dilation 2 along H at stride 2: a row phase of dx that no tap reaches (zeros), so not those jobs.
    name: 'strided backward: 3x3 stride 2 pad 1 dilation [2,1], C=12 O=10, 7x16 (dx rows no tap reaches)',
    x: [1, 12, 7, 16],
    O: 10,
    k: [3, 3],
    opts: { stride: 2, padding: 1, dilation: [2, 1] },
  },
  {
    name: 'transposed rows backward: 3x3 stride [1,2] pad [2,1] dilation [2,1], C=12 O=10, 5x16',
    x: [1, 12, 5, 16],
    O: 10,
    k: [3, 3],
    opts: { stride: [1, 2], padding: [2, 1], dilation: [2, 1] },
  },
  // At most 4 output channels on rows of whole vec4s (narrow_s1_rows): backward to the input of an RGB
  // stem (16 -> 3 channels, shuffled edges; in place of columns + col2im), a single half tile (width 4,
  // forward and backward), a last tile half past the row (width 12), rows that straddle workgroups
  // (width 24: edge pixels loaded; its backward stays on columns), two channel tiles (5 outputs), groups,
  // the epilogue.
  { name: 'narrow rows backward: 3x3 pad 1, C=3 O=16, 6x32 (RGB stem), batch 2', x: [2, 3, 6, 32], O: 16, k: [3, 3], opts: { padding: 1 } },
  { name: 'narrow rows: 3x3 pad 1, C=4 O=2, 3x4', x: [1, 4, 3, 4], O: 2, k: [3, 3], opts: { padding: 1 }, bias: true },
  {
    name: 'narrow rows: 3x3 pad 1, C=9 O=3, 7x12, batch 3, relu',
    x: [3, 9, 7, 12],
    O: 3,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
  },
  {
    name: 'narrow rows: 3x3 pad 1, C=6 O=5, 5x24 (rows straddle workgroups), epilogue',
    x: [2, 6, 5, 24],
    O: 5,
    k: [3, 3],
    opts: { padding: 1 },
    epilogue: true,
  },
  { name: 'narrow rows: 3x3 pad 1, groups 2 (2 -> 2 each), 4x8', x: [1, 4, 4, 8], O: 4, k: [3, 3], opts: { padding: 1, groups: 2 } },
  { name: 'mid tile: 1x1 on 6x6 (half the last lane), C=7 O=13', x: [2, 7, 6, 6], O: 13, k: [1, 1], opts: {}, bias: true, epilogue: true },
  // Strided, ungrouped, more than 16 output channels and a pixel count divisible by 4: the forward pass
  // forms patch columns and runs one flat GEMM on the subgroup kernels.
  {
    name: 'columns: 7x7 stride 2 pad 3 (stem), C=3 O=20, 16x16',
    x: [2, 3, 16, 16],
    O: 20,
    k: [7, 7],
    opts: { stride: 2, padding: 3 },
    bias: true,
  },
  { name: 'columns: 1x1 stride 2 (downsample), C=20 O=24, 12x11', x: [2, 20, 12, 11], O: 24, k: [1, 1], opts: { stride: 2 } },
  {
    name: 'columns: 3x3 stride 2 pad 1, C=36 O=33, 15x16, epilogue, relu',
    x: [1, 36, 15, 16],
    O: 33,
    k: [3, 3],
    opts: { stride: 2, padding: 1, activation: 'relu' },
    epilogue: true,
  },
  // im2col_quads finds each pixel's row and column from its own stride, padding and dilation per axis.
  {
    name: 'columns: 3x2 kernel, stride [2,1], pad [1,0], dilation [1,2], C=6 O=20, 9x10, batch 2',
    x: [2, 6, 9, 10],
    O: 20,
    k: [3, 2],
    opts: { stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
  },
  // Output and input rows of whole vec4s: im2col_quads_rows loads each kernel row's span as aligned vec4s
  // (some wholly padding) and picks the quad's columns at offsets its specialised geometry fixes.
  { name: 'columns, vec4 rows: 1x1 stride 2, C=20 O=24, 9x16, batch 2', x: [2, 20, 9, 16], O: 24, k: [1, 1], opts: { stride: 2 } },
  {
    name: 'columns, vec4 rows: 3x3 stride 2 pad 2 dilation 2, C=5 O=18, 10x16, batch 2',
    x: [2, 5, 10, 16],
    O: 18,
    k: [3, 3],
    opts: { stride: 2, padding: 2, dilation: 2 },
    bias: true,
  },
  { name: 'columns, vec4 rows: 5x5 stride 2 pad 2, C=4 O=20, 7x16', x: [1, 4, 7, 16], O: 20, k: [5, 5], opts: { stride: 2, padding: 2 } },
  {
    name: 'columns, vec4 rows: 8x8 stride 4 pad 2, C=3 O=17, 12x32, epilogue, relu',
    x: [1, 3, 12, 32],
    O: 17,
    k: [8, 8],
    opts: { stride: 4, padding: 2, activation: 'relu' },
    epilogue: true,
  },
  // Columns whose planes are not whole vec4s (1x1 convs on 7x7 and 5x5 maps; the strided 3x3 above with
  // a 7x7 output): padded planes, a flat GEMM, unpadded after; the residual added after unpadding.
  { name: 'columns, padded planes: 1x1 on 7x7, C=20 O=40, batch 2', x: [2, 20, 7, 7], O: 40, k: [1, 1], opts: {}, bias: true },
  {
    name: 'columns, padded planes: 2x3 kernel, stride [1,2], pad [0,2], dilation [2,1], C=5 O=18, 7x9, batch 3',
    x: [3, 5, 7, 9],
    O: 18,
    k: [2, 3],
    opts: { stride: [1, 2], padding: [0, 2], dilation: [2, 1] },
    bias: true,
  },
  {
    name: 'columns, padded planes: 1x1 on 5x5, C=24 O=20, epilogue, relu',
    x: [1, 24, 5, 5],
    O: 20,
    k: [1, 1],
    opts: { activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  // A strided 1x1 conv whose output grid is 7x7 (its backward: the padded pointwise GEMM, then spread;
  // 'columns: 1x1 stride 2' above takes the unpadded one).
  { name: 'downsample: 1x1 stride 2, C=24 O=20, 13x13', x: [1, 24, 13, 13], O: 20, k: [1, 1], opts: { stride: 2 } },
  // Stride-2 3x3 convs with channels and tiles enough for Winograd F(4x4): backward through dy spread
  // over the input's grid (batch 2; an even and an odd width).
  {
    name: 'spread dy: 3x3 stride 2 pad 1, C=32 O=40, 16x16, batch 2',
    x: [2, 32, 16, 16],
    O: 40,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 'spread dy: 3x3 stride 2 pad 1, C=36 O=33, 16x15, batch 2, relu',
    x: [2, 36, 16, 15],
    O: 33,
    k: [3, 3],
    opts: { stride: 2, padding: 1, activation: 'relu' },
    bias: true,
  },
  // Epilogue (batch-norm scale/shift, residual, ReLU) fused into the store, on each kernel shape.
  {
    name: 'epilogue: 3x3 pad 1, C=12 O=20, batch 2, relu',
    x: [2, 12, 9, 10],
    O: 20,
    k: [3, 3],
    opts: { padding: 1, activation: 'relu' },
    bias: true,
    epilogue: true,
  },
  { name: 'epilogue: 1x1 flat (8x8 plane), C=16 O=36', x: [2, 16, 8, 8], O: 36, k: [1, 1], opts: {}, epilogue: true },
  // Flat GEMMs of 4 channel tiles or more run their workgroups in bands of 8 tile groups (BAND): one
  // short band, bands of 8, 8 and 7 over two groups, and the epilogue.
  {
    name: 'banded flat GEMM: 1x1, C=20 O=130 (5 channel tiles), 6x10, batch 3 (one short band)',
    x: [3, 20, 6, 10],
    O: 130,
    k: [1, 1],
    opts: {},
  },
  {
    name: 'banded flat GEMM: 1x1, groups 2 (12 -> 129 each), 12x12, batch 5 (bands of 8, 8, 7)',
    x: [5, 24, 12, 12],
    O: 258,
    k: [1, 1],
    opts: { groups: 2 },
    bias: true,
  },
  { name: 'banded flat GEMM: 1x1 (8x8 plane), C=16 O=100, epilogue', x: [2, 16, 8, 8], O: 100, k: [1, 1], opts: {}, epilogue: true },
  {
    name: 'epilogue: 1x1 stride 2, C=8 O=12, relu',
    x: [1, 8, 9, 9],
    O: 12,
    k: [1, 1],
    opts: { stride: 2, activation: 'relu' },
    epilogue: true,
  },
  {
    name: 'epilogue: 3x3 stride 2, C=5 O=6 (narrow tile)',
    x: [2, 5, 11, 9],
    O: 6,
    k: [3, 3],
    opts: { stride: 2, padding: 1 },
    epilogue: true,
  },
];

/**
 * The configurations each case runs: every runnable variant on the GEMM or direct kernels (Winograd
 * off), and Winograd on the engine's own variant wherever it applies (3x3, stride 1, undilated,
 * ungrouped, equal padding <= 2).
 */
function configs(e: Engine, s: ConvSpec): { name: string; opts: Conv2dOptions }[] {
  const out: { name: string; opts: Conv2dOptions }[] = runnableVariants(e).map((variant) => ({
    name: variant,
    opts: { variant, winograd: false },
  }));
  const g = convGeometry(s.opts);
  const winograd =
    s.k[0] === 3 &&
    s.k[1] === 3 &&
    g.stride.every((v) => v === 1) &&
    g.dilation.every((v) => v === 1) &&
    g.groups === 1 &&
    g.padding[0] === g.padding[1] &&
    g.padding[0] <= 2;
  if (winograd) {
    out.push({ name: 'winograd 2x2', opts: { variant: selectConv2dVariant(e), winograd: true, winogradTile: 2 } });
    out.push({ name: 'winograd 4x4', opts: { variant: selectConv2dVariant(e), winograd: true, winogradTile: 4 } });
  }
  // Stride-2 padding-1 3x3 convs: backward to the input may spread dy over the input's grid and run
  // Winograd (on 'auto', where it suits); the forward pass takes its own path.
  const spread = s.k[0] === 3 && s.k[1] === 3 && g.stride.every((v) => v === 2) && g.padding.every((v) => v === 1);
  if (spread && g.dilation.every((v) => v === 1) && g.groups === 1) {
    out.push({ name: 'auto (backward: winograd 4x4 on spread dy)', opts: { variant: selectConv2dVariant(e), winograd: 'auto' } });
  }
  return out;
}

function specShapes(s: ConvSpec) {
  const g = convGeometry(s.opts);
  const [N, C, H, W] = s.x;
  const wShape = [s.O, C / g.groups, s.k[0], s.k[1]];
  const Ho = convOutSize(H, s.k[0], g.stride[0], g.padding[0], g.dilation[0]);
  const Wo = convOutSize(W, s.k[1], g.stride[1], g.padding[1], g.dilation[1]);
  const K = (C / g.groups) * s.k[0] * s.k[1];
  return { g, wShape, yShape: [N, s.O, Ho, Wo], K };
}

/** Variants this engine can run; 'subgroup' only where the adapter supports it. */
export function runnableVariants(e: Engine): Conv2dVariant[] {
  const all: Conv2dVariant[] = ['direct', 'register', 'shared'];
  if (e.capabilities.subgroupKernels) all.push('subgroup');
  return all;
}

/** fp32 sums of K terms of size ~1: tolerance grows like sqrt(K). */
function tol(K: number) {
  return { atol: 2e-6 * Math.sqrt(K) + 1e-6, rtol: 1e-4 };
}

function close(actual: Float32Array, expected: ArrayLike<number>, K: number, shape: readonly number[], what: string) {
  // F(4x4, 3x3)'s transforms have coefficients up to 8 (and 1/24): its rounding error is ~10x larger.
  const t = what.includes('winograd 4x4') ? { atol: 2e-5 * Math.sqrt(K) + 1e-5, rtol: 1e-3 } : tol(K);
  expectClose(actual, expected, { ...t, shape, what });
}

function forwardCase(s: ConvSpec, si: number): KernelCase {
  return {
    name: `conv2d forward ${s.name}`,
    async run(e) {
      const { g, wShape, yShape, K } = specShapes(s);
      const x = randomArray(
        s.x.reduce((a, b) => a * b),
        100 + si,
      );
      const w = randomArray(
        wShape.reduce((a, b) => a * b),
        200 + si,
      );
      const b = s.bias ? randomArray(s.O, 300 + si) : null;
      const relu = s.opts.activation === 'relu';
      let ref = conv2dRef(x, s.x, w, wShape, b, g, relu && !s.epilogue).y;
      const xt = e.upload(x, s.x);
      const wt = e.upload(w, wShape);
      const bt = b ? e.upload(b, [s.O]) : null;
      let fused: Conv2dOptions = {};
      if (s.epilogue) {
        // y = act((conv + bias) * scale[o] + shift[o] + residual)
        const scale = randomArray(s.O, 800 + si);
        const shift = randomArray(s.O, 900 + si);
        const residual = randomArray(ref.length, 1000 + si);
        const plane = yShape[2] * yShape[3];
        ref = Float32Array.from(ref, (v, i) => {
          const o = Math.floor(i / plane) % s.O;
          const r = v * scale[o] + shift[o] + residual[i];
          return relu ? Math.max(r, 0) : r;
        });
        fused = { affine: { scale: e.upload(scale, [s.O]), shift: e.upload(shift, [s.O]) }, residual: e.upload(residual, yShape) };
      }
      const results = new Map<string, Float32Array>();
      for (const { name, opts } of configs(e, s)) {
        const y = conv2dForward(e, xt, wt, bt, { ...s.opts, ...fused, ...opts });
        if (y.shape.join() !== yShape.join()) throw new Error(`${name}: output shape [${y.shape}] != expected [${yShape}]`);
        const out = await y.readF32();
        close(out, ref, K, yShape, `forward ${name} vs CPU reference`);
        results.set(name, out);
        y.release();
      }
      // Variants against each other (tiled and Winograd vs naive), at the same tolerance.
      const direct = results.get('direct')!;
      for (const [name, out] of results) {
        if (name !== 'direct') close(out, direct, K, yShape, `forward ${name} vs direct`);
      }
      e.releaseAll(xt, wt, bt, fused.affine?.scale, fused.affine?.shift, fused.residual);
    },
  };
}

function backwardInputCase(s: ConvSpec, si: number): KernelCase {
  return {
    name: `conv2d backward-input ${s.name}`,
    async run(e) {
      const { g, wShape, yShape } = specShapes(s);
      const dy = randomArray(
        yShape.reduce((a, b) => a * b),
        400 + si,
      );
      const w = randomArray(
        wShape.reduce((a, b) => a * b),
        500 + si,
      );
      const ref = conv2dBackwardInputRef(dy, yShape, w, wShape, s.x, g);
      const Kb = (s.O / g.groups) * s.k[0] * s.k[1];
      const dyt = e.upload(dy, yShape);
      const wt = e.upload(w, wShape);
      const opts = { ...s.opts, activation: undefined };
      const results = new Map<string, Float32Array>();
      for (const { name, opts: o } of configs(e, s)) {
        const dx = conv2dBackwardInput(e, dyt, wt, s.x, { ...opts, ...o });
        const out = await dx.readF32();
        close(out, ref, Kb, s.x, `backward-input ${name} vs CPU reference`);
        results.set(name, out);
        dx.release();
      }
      for (const [name, out] of results) {
        if (name !== 'direct') close(out, results.get('direct')!, Kb, s.x, `backward-input ${name} vs direct`);
      }
      // On through the ReLU whose output is the conv's input, under each rule, alone and with a gradient
      // the ReLU's output already has from another reader, in the conv's store where the kernel can and as
      // one pass after the conv (Engine.convBackwardEpilogueMaxBytes: both are run here, whatever this
      // adapter's default): the reference applies relu.wgsl's masks to the plain gradient (plus that one).
      const reluY = Float32Array.from(randomArray(ref.length, 600 + si), (v) => Math.max(v, 0));
      const plus = randomArray(ref.length, 700 + si);
      const yt = e.upload(reluY, s.x);
      const plusT = e.upload(plus, s.x);
      const policy = e.convBackwardEpilogueMaxBytes;
      try {
        for (const rule of RELU_RULES) {
          for (const withPlus of [false, true]) {
            const masked = Float32Array.from(ref, (r, i) => {
              const v = withPlus ? r + plus[i] : r;
              return (rule === 'deconvnet' || reluY[i] > 0) && (rule === 'standard' || v > 0) ? v : 0;
            });
            const relu = { y: yt, rule, plus: withPlus ? plusT : undefined };
            for (const [where, maxBytes] of [
              ['in the store', Infinity],
              ['as a pass', 0],
            ] as const) {
              e.convBackwardEpilogueMaxBytes = maxBytes;
              for (const { name, opts: o } of configs(e, s)) {
                const dx = conv2dBackwardInput(e, dyt, wt, s.x, { ...opts, ...o }, relu);
                const what = `backward-input ${name} through a ${rule} ReLU${withPlus ? ' with a gradient added' : ''} (${where})`;
                close(await dx.readF32(), masked, Kb, s.x, `${what} vs CPU reference`);
                dx.release();
              }
            }
          }
        }
      } finally {
        e.convBackwardEpilogueMaxBytes = policy;
      }
      e.releaseAll(dyt, wt, yt, plusT);
    },
  };
}

function backwardWeightCase(s: ConvSpec, si: number): KernelCase {
  return {
    name: `conv2d backward-weight ${s.name}`,
    async run(e) {
      const { g, wShape, yShape } = specShapes(s);
      const x = randomArray(
        s.x.reduce((a, b) => a * b),
        600 + si,
      );
      const dy = randomArray(
        yShape.reduce((a, b) => a * b),
        700 + si,
      );
      const ref = conv2dBackwardWeightRef(x, s.x, dy, yShape, wShape, g);
      const xt = e.upload(x, s.x);
      const dyt = e.upload(dy, yShape);
      const dw = conv2dBackwardWeight(e, xt, dyt, wShape, { ...s.opts, activation: undefined });
      close(await dw.readF32(), ref, s.x[0] * yShape[2] * yShape[3], wShape, 'backward-weight vs CPU reference');
      e.releaseAll(xt, dyt, dw);
    },
  };
}

/**
 * Finite differences on a tiny conv: with L = sum(r * conv(x, w)), dL/dx and dL/dw by central
 * differences of the CPU forward (float64 sums; L is linear, so a large step is exact) against the
 * GPU backward kernels fed dy = r.
 */
function finiteDifferenceCase(s: ConvSpec, si: number): KernelCase {
  return {
    name: `conv2d finite differences ${s.name}`,
    async run(e) {
      const { g, wShape, yShape } = specShapes(s);
      const x = randomArray(
        s.x.reduce((a, b) => a * b),
        800 + si,
      );
      const w = randomArray(
        wShape.reduce((a, b) => a * b),
        900 + si,
      );
      const r = randomArray(
        yShape.reduce((a, b) => a * b),
        1000 + si,
      );
      const loss = (xv: Float32Array, wv: Float32Array) => {
        const y = conv2dRef(xv, s.x, wv, wShape, null, g).y;
        let sum = 0;
        for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
        return sum;
      };
      const h = 0.5;
      const fd = (v: Float32Array, f: (p: Float32Array) => number) => {
        const out = new Float64Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const p = Float32Array.from(v);
          p[i] = v[i] + h;
          const up = f(p);
          p[i] = v[i] - h;
          out[i] = (up - f(p)) / (2 * h);
        }
        return out;
      };
      const gx = fd(x, (p) => loss(p, w));
      const gw = fd(w, (p) => loss(x, p));
      const xt = e.upload(x, s.x);
      const wt = e.upload(w, wShape);
      const rt = e.upload(r, yShape);
      for (const variant of runnableVariants(e)) {
        const dx = conv2dBackwardInput(e, rt, wt, s.x, { ...s.opts, variant });
        expectClose(await dx.readF32(), gx, { atol: 1e-4, rtol: 1e-3, shape: s.x, what: `dL/dx ${variant} vs finite differences` });
        dx.release();
      }
      const dw = conv2dBackwardWeight(e, xt, rt, wShape, s.opts);
      expectClose(await dw.readF32(), gw, { atol: 1e-4, rtol: 1e-3, shape: wShape, what: 'dL/dw vs finite differences' });
      e.releaseAll(xt, wt, rt, dw);
    },
  };
}

const FD_SPECS: ConvSpec[] = [
  { name: 'tiny 3x3 stride 2 pad 1', x: [1, 2, 5, 6], O: 3, k: [3, 3], opts: { stride: 2, padding: 1 } },
  { name: 'tiny dilation 2 groups 2', x: [2, 4, 6, 5], O: 4, k: [2, 3], opts: { dilation: 2, padding: [1, 2], groups: 2 } },
];

/** The packed-weight cache is freed when the weight is released (no pool growth across calls). */
const cacheCase: KernelCase = {
  name: 'conv2d packed-weight cache is released with the weight',
  async run(e) {
    const xShape = [1, 8, 12, 12];
    const wShape = [40, 8, 3, 3];
    const x = e.upload(randomArray(8 * 144, 1), xShape);
    releaseConv2dWeightCache(e); // packed weights of earlier cases
    const before = e.pool.stats.liveBytes;
    for (let i = 0; i < 3; i++) {
      const w = e.upload(randomArray(40 * 72, 2 + i), wShape);
      const y = conv2dForward(e, x, w, null, { padding: 1 });
      const dx = conv2dBackwardInput(e, y, w, xShape, { padding: 1 });
      e.releaseAll(y, dx, w);
    }
    // A call after the releases sweeps the cache of released weights.
    const w = e.upload(randomArray(40 * 72, 9), wShape);
    const y = conv2dForward(e, x, w, null, { padding: 1 });
    await e.finish();
    e.releaseAll(y, w);
    releaseConv2dWeightCache(e);
    const after = e.pool.stats.liveBytes;
    if (after !== before) throw new Error(`live bytes ${before} before, ${after} after: packed weights leaked`);
    x.release();
  },
};

/** A second run of the same weight reuses the packed copy and gives the same answer. */
const consistencyCase: KernelCase = {
  name: 'conv2d repeated calls agree (packed-weight cache hit)',
  async run(e) {
    const s = CONV_SPECS[9];
    const { wShape, yShape } = specShapes(s);
    const xt = e.upload(
      randomArray(
        s.x.reduce((a, b) => a * b),
        1,
      ),
      s.x,
    );
    const wt = e.upload(
      randomArray(
        wShape.reduce((a, b) => a * b),
        2,
      ),
      wShape,
    );
    const a = conv2dForward(e, xt, wt, null, s.opts);
    const b = conv2dForward(e, xt, wt, null, s.opts);
    const r = compareClose(await a.readF32(), await b.readF32(), { atol: 0, rtol: 0, shape: yShape, what: 'second call' });
    if (!r.ok) throw new Error(r.message);
    e.releaseAll(xt, wt, a, b);
  },
};

/** After prepareConv2dWeight, forward and backward to the input pack nothing more. */
function prepareCase(s: ConvSpec): KernelCase {
  return {
    name: `conv2d prepareConv2dWeight covers forward and backward: ${s.name}`,
    async run(e) {
      const { wShape, yShape } = specShapes(s);
      const xt = e.upload(
        randomArray(
          s.x.reduce((a, b) => a * b),
          1,
        ),
        s.x,
      );
      const wt = e.upload(
        randomArray(
          wShape.reduce((a, b) => a * b),
          2,
        ),
        wShape,
      );
      const dyt = e.upload(
        randomArray(
          yShape.reduce((a, b) => a * b),
          3,
        ),
        yShape,
      );
      prepareConv2dWeight(e, wt, { ...s.opts, backwardInput: true });
      await e.finish();
      const before = e.pool.stats.liveBytes;
      const y = conv2dForward(e, xt, wt, null, s.opts);
      const dx = conv2dBackwardInput(e, dyt, wt, s.x, s.opts);
      e.releaseAll(y, dx);
      await e.finish();
      const after = e.pool.stats.liveBytes;
      e.releaseAll(xt, wt, dyt);
      if (after !== before) throw new Error(`live bytes grew from ${before} to ${after}: a packing was missed by prepareConv2dWeight`);
    },
  };
}

export const conv2dCases: KernelCase[] = [
  ...CONV_SPECS.map(forwardCase),
  ...CONV_SPECS.map(backwardInputCase),
  ...CONV_SPECS.map(backwardWeightCase),
  ...FD_SPECS.map(finiteDifferenceCase),
  cacheCase,
  consistencyCase,
  ...[CONV_SPECS[2], CONV_SPECS[4], CONV_SPECS[16], CONV_SPECS[19], CONV_SPECS[1], CONV_SPECS[21]].map(prepareCase),
  ...CONV_SPECS.filter((s) => /^(columns:|transposed rows|narrow rows backward)/.test(s.name)).map(prepareCase),
];
