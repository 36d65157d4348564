/**
 * The benchmark grid, as data: real layer shapes of ResNet-50 and VGG-16 at 224x224 (torchvision
 * layer names), plus the matmuls and the memory-bound ops the attribution methods run.
 * Builders in bench/ops.ts turn each row into a timed case; `quick` marks the `--quick` subset.
 */
import type { BenchCase } from './case.js';
import {
  addCase,
  addReluCase,
  bilinearResizeCase,
  channelAffineCase,
  convBackwardInputCase,
  convForwardCase,
  globalAvgPoolCase,
  linearCase,
  matmulCase,
  maxPoolBackwardCase,
  maxPoolCase,
  reluBackwardCase,
  reluCase,
  softmaxCase,
  type Activation,
  type ConvLayer,
  type ConvVariant,
  type LinearLayer,
  type MatmulShape,
  type MatmulVariant,
  type PoolLayer,
  type ResizeShape,
  type SoftmaxShape,
} from './ops.js';

// ResNet-50 (v1.5: the stride sits on the 3x3). Convs have no bias: BN follows each one.
export const RESNET50_CONVS: ConvLayer[] = [
  { model: 'resnet50', layer: 'conv1', cin: 3, cout: 64, k: 7, stride: 2, pad: 3, hw: 224, bias: false, quick: true },
  { model: 'resnet50', layer: 'layer1.0.conv1', cin: 64, cout: 64, k: 1, stride: 1, pad: 0, hw: 56, bias: false },
  { model: 'resnet50', layer: 'layer1.0.conv2', cin: 64, cout: 64, k: 3, stride: 1, pad: 1, hw: 56, bias: false, quick: true },
  { model: 'resnet50', layer: 'layer1.0.conv3', cin: 64, cout: 256, k: 1, stride: 1, pad: 0, hw: 56, bias: false },
  { model: 'resnet50', layer: 'layer2.0.conv1', cin: 256, cout: 128, k: 1, stride: 1, pad: 0, hw: 56, bias: false },
  { model: 'resnet50', layer: 'layer2.0.conv2', cin: 128, cout: 128, k: 3, stride: 2, pad: 1, hw: 56, bias: false },
  { model: 'resnet50', layer: 'layer3.1.conv2', cin: 256, cout: 256, k: 3, stride: 1, pad: 1, hw: 14, bias: false },
  { model: 'resnet50', layer: 'layer3.1.conv1', cin: 1024, cout: 256, k: 1, stride: 1, pad: 0, hw: 14, bias: false, quick: true },
  { model: 'resnet50', layer: 'layer4.1.conv2', cin: 512, cout: 512, k: 3, stride: 1, pad: 1, hw: 7, bias: false },
  { model: 'resnet50', layer: 'layer4.1.conv1', cin: 2048, cout: 512, k: 1, stride: 1, pad: 0, hw: 7, bias: false },
];

// VGG-16: every conv is 3x3 pad 1 with bias.
const vgg = (layer: string, cin: number, cout: number, hw: number, quick = false): ConvLayer => ({
  model: 'vgg16',
  layer,
  cin,
  cout,
  k: 3,
  stride: 1,
  pad: 1,
  hw,
  bias: true,
  quick,
});

export const VGG16_CONVS: ConvLayer[] = [
  vgg('features.0', 3, 64, 224),
  vgg('features.2', 64, 64, 224),
  vgg('features.7', 128, 128, 112),
  vgg('features.12', 256, 256, 56),
  vgg('features.19', 512, 512, 28),
  vgg('features.26', 512, 512, 14, true),
];

// CIFAR ResNet-20 (option-A shortcuts, no 1x1 convs): the RISE workload, at batch 250 as well.
const cifar = (layer: string, cin: number, cout: number, stride: number, hw: number, quick = false): ConvLayer => ({
  model: 'cifar_resnet20',
  layer,
  cin,
  cout,
  k: 3,
  stride,
  pad: 1,
  hw,
  bias: false,
  quick,
});

export const CIFAR_CONVS: ConvLayer[] = [
  cifar('conv1', 3, 16, 1, 32),
  cifar('layer1.0.conv1', 16, 16, 1, 32, true),
  cifar('layer2.0.conv1', 16, 32, 2, 32),
  cifar('layer2.0.conv2', 32, 32, 1, 16),
  cifar('layer3.0.conv1', 32, 64, 2, 16),
  cifar('layer3.0.conv2', 64, 64, 1, 8, true),
];
/** RISE's batch: CIFAR rows run at it too (not with --quick). */
export const CIFAR_RISE_BATCH = 250;

export const VGG16_FCS: LinearLayer[] = [
  { model: 'vgg16', layer: 'classifier.0', inFeatures: 25088, outFeatures: 4096 },
  { model: 'vgg16', layer: 'classifier.3', inFeatures: 4096, outFeatures: 4096, quick: true },
  { model: 'vgg16', layer: 'classifier.6', inFeatures: 4096, outFeatures: 1000 },
];

export const MATMULS: MatmulShape[] = [
  { m: 1024, n: 1024, k: 1024, what: 'square', quick: true },
  { m: 3136, n: 64, k: 576, what: 'resnet50 layer1 3x3 conv as GEMM', quick: true },
];

const STEM_OUT: Activation = { where: 'resnet50.conv1 out', c: 64, hw: 112, quick: true };
const LAYER1_OUT: Activation = { where: 'resnet50.layer1 out', c: 256, hw: 56 };

export const RELUS: Activation[] = [STEM_OUT, LAYER1_OUT];
export const RELU_BACKWARDS: Activation[] = [STEM_OUT];
export const BATCH_NORMS: Activation[] = [
  { ...STEM_OUT, where: 'resnet50.bn1' },
  { ...LAYER1_OUT, where: 'resnet50.layer1.0.bn3' },
];
export const ADDS: Activation[] = [
  { ...LAYER1_OUT, where: 'resnet50.layer1.0 residual', quick: true },
  { where: 'resnet50.layer4.2 residual', c: 2048, hw: 7 },
];
export const MAX_POOLS: PoolLayer[] = [
  { where: 'resnet50.maxpool', c: 64, hw: 112, k: 3, stride: 2, pad: 1, quick: true },
  { where: 'vgg16.features.4', c: 64, hw: 224, k: 2, stride: 2, pad: 0 },
];
export const MAX_POOL_BACKWARDS: PoolLayer[] = MAX_POOLS;
export const GLOBAL_AVG_POOLS: Activation[] = [{ where: 'resnet50.avgpool', c: 2048, hw: 7, quick: true }];
export const SOFTMAXES: SoftmaxShape[] = [{ what: 'imagenet logits', classes: 1000, quick: true }];
export const RESIZES: ResizeShape[] = [
  { what: 'grad-cam upsample', c: 1, from: 7, to: 224, quick: true },
  { what: 'rise mask', c: 1, from: 7, to: 256 },
  { what: 'feature map', c: 256, from: 56, to: 112 },
];

/**
 * Kernel variants side by side on the same shapes, batch 1: the engine picks one per adapter
 * (docs/adapter.md: subgroup broadcasts win on lavapipe, shared-memory tiles on real GPUs), and these rows
 * show whether the pick is right here.
 */
export const CONV_VARIANTS: ConvVariant[] = ['subgroup', 'register', 'shared', 'direct'];
export const MATMUL_VARIANTS: MatmulVariant[] = ['subgroup', 'register', 'shared'];
export const CONV_VARIANT_LAYERS: ConvLayer[] = [RESNET50_CONVS[2], { ...RESNET50_CONVS[7], quick: false }];
export const CONV_BACKWARD_VARIANT_LAYERS: ConvLayer[] = [{ ...RESNET50_CONVS[2], quick: false }];
export const MATMUL_VARIANT_SHAPES: MatmulShape[] = [{ ...MATMULS[0], quick: false }, MATMULS[1]];
/** Stride-1 3x3 layers with Winograd on and off (the engine's variant), to show where it wins. */
export const WINOGRAD_LAYERS: ConvLayer[] = [
  { ...RESNET50_CONVS[2], quick: true },
  RESNET50_CONVS[6],
  RESNET50_CONVS[8],
  { ...VGG16_CONVS[1], quick: false },
  VGG16_CONVS[4],
  { ...CIFAR_CONVS[1], quick: true },
  CIFAR_CONVS[5],
];

export interface GridOptions {
  batches: readonly number[];
  /** Only the rows marked `quick`. */
  quick: boolean;
}

/**
 * Every case, grouped by op, then layer, then batch (so N=1 and N=8 of a layer sit side by side),
 * then the variant comparisons. Batch-free cases (plain matmuls) appear once.
 */
export function benchGrid(options: GridOptions): BenchCase[] {
  const keep = <T extends { quick?: boolean }>(rows: T[]): T[] => (options.quick ? rows.filter((r) => r.quick) : rows);
  const perBatch = <T extends { quick?: boolean }>(rows: T[], build: (row: T, n: number) => BenchCase): BenchCase[] =>
    keep(rows).flatMap((row) => options.batches.map((n) => build(row, n)));
  const convs = [...RESNET50_CONVS, ...VGG16_CONVS];
  const cifarBatches = options.quick ? options.batches : [...new Set([...options.batches, CIFAR_RISE_BATCH])];
  const cifarRows = (build: (l: ConvLayer, n: number) => BenchCase) =>
    keep(CIFAR_CONVS).flatMap((l) => cifarBatches.map((n) => build(l, n)));
  const winogradRows = (build: (l: ConvLayer, n: number, v?: ConvVariant, w?: boolean) => BenchCase) =>
    keep(WINOGRAD_LAYERS).flatMap((l) => options.batches.flatMap((n) => [build(l, n, undefined, false), build(l, n, undefined, true)]));
  return [
    ...perBatch(convs, convForwardCase),
    ...cifarRows(convForwardCase),
    ...perBatch(convs, convBackwardInputCase),
    ...cifarRows(convBackwardInputCase),
    ...winogradRows(convForwardCase),
    ...winogradRows(convBackwardInputCase),
    ...keep(MATMULS).map((s) => matmulCase(s)),
    ...perBatch(VGG16_FCS, linearCase),
    ...perBatch(RELUS, reluCase),
    ...perBatch(RELU_BACKWARDS, reluBackwardCase),
    ...perBatch(BATCH_NORMS, channelAffineCase),
    ...perBatch(ADDS, addCase),
    ...perBatch(ADDS, addReluCase),
    ...perBatch(MAX_POOLS, maxPoolCase),
    ...perBatch(MAX_POOL_BACKWARDS, maxPoolBackwardCase),
    ...perBatch(GLOBAL_AVG_POOLS, globalAvgPoolCase),
    ...perBatch(SOFTMAXES, softmaxCase),
    ...perBatch(RESIZES, bilinearResizeCase),
    ...keep(CONV_VARIANT_LAYERS).flatMap((l) => CONV_VARIANTS.map((v) => convForwardCase(l, 1, v))),
    ...keep(CONV_BACKWARD_VARIANT_LAYERS).flatMap((l) => CONV_VARIANTS.map((v) => convBackwardInputCase(l, 1, v))),
    ...keep(MATMUL_VARIANT_SHAPES).flatMap((s) => MATMUL_VARIANTS.map((v) => matmulCase(s, v))),
  ];
}
