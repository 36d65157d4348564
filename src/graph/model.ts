import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { releaseConv2dWeightCache } from '../kernels/conv2d.js';
import { buildCifarResNet } from './architectures/cifar-resnet.js';
import { architectureFromName, detectArchitecture, type Architecture } from './architectures/detect.js';
import { buildPlainCnn } from './architectures/plain-cnn.js';
import { buildTorchvisionResNet } from './architectures/torchvision-resnet.js';
import { buildTorchvisionVgg } from './architectures/torchvision-vgg.js';
import { GraphBuilder } from './builder.js';
import {
  runBackward,
  runForward,
  type BackwardOptions,
  type BackwardResult,
  type BackwardSeed,
  type ForwardOptions,
  type Trace,
} from './executor.js';
import type { Graph } from './graph.js';
import { resolveLayer } from './layer-names.js';
import { defaultInfo, infoFromMetadata, type ModelInfo } from './model-info.js';
import { fileWeights, WeightsError, type TensorFile, type WeightSource } from './weights.js';
import '../util/dispose-symbol.js';

/** A loaded network: its graph on the GPU, what it expects as input, and the layer names it answers to. */
export class Model {
  constructor(
    readonly engine: Engine,
    readonly graph: Graph,
    readonly info: ModelInfo,
    readonly arch: Architecture,
    /** Tensors in the file that no layer used (e.g. a head the architecture lacks). */
    readonly unusedWeights: string[] = [],
  ) {}

  get numClasses(): number {
    return this.info.classes.length;
  }

  /** x: (N, 3, H, W) normalised -> trace with logits (N, classes) and the kept activations. */
  forward(x: Tensor, opts: ForwardOptions = {}): Trace {
    return runForward(this.engine, this.graph, x, opts);
  }

  backward(trace: Trace, seed: BackwardSeed, opts: BackwardOptions = {}): BackwardResult {
    return runBackward(this.engine, trace, seed, opts);
  }

  /** Logits for a batch, read back to the host. */
  async logits(x: Tensor): Promise<Float32Array> {
    const trace = this.forward(x, { forBackward: false });
    try {
      return await trace.logits.readF32();
    } finally {
      trace.release();
    }
  }

  layerNames(): string[] {
    return this.graph.layerNames();
  }

  hasLayer(name: string): boolean {
    return this.graph.names.has(name);
  }

  /** Throws the standard unknown-layer error (listing close names) when `name` is not a layer. */
  assertLayer(name: string): void {
    resolveLayer(this.graph, name);
  }

  /** The last convolutional stage: where CAM-family methods look by default. */
  get defaultCamLayer(): string {
    switch (this.arch.kind) {
      case 'resnet':
        return 'layer4';
      case 'cifar_resnet':
        return 'layer3';
      case 'vgg':
      case 'plain_cnn': {
        const lastRelu = [...this.graph.nodes].reverse().find((n) => n.op === 'relu' && n.name.startsWith('features.'));
        return lastRelu!.name;
      }
    }
  }

  /** E2CM exits: after the stem and after every residual block (ResNets) or stage (VGG / plain). */
  get exitLayers(): string[] {
    const names = this.graph.layerNames();
    switch (this.arch.kind) {
      case 'resnet':
        return ['maxpool', ...names.filter((n) => /^layer\d+\.\d+$/.test(n))];
      case 'cifar_resnet':
        return ['relu', ...names.filter((n) => /^layer\d+\.\d+$/.test(n))];
      case 'vgg':
      case 'plain_cnn':
        return this.graph.nodes.filter((n) => n.op === 'maxpool').map((n) => n.name);
    }
  }

  private readonly afterRelease: (() => void)[] = [];
  private releasedAlready = false;

  /** Runs `fn` once, right after the model is released (the high-level `loadModel` gives back its engine here). */
  onRelease(fn: () => void): void {
    if (this.releasedAlready) throw new Error(`${this.info.architecture}: model already released`);
    this.afterRelease.push(fn);
  }

  /** Frees every weight on the GPU, including the packed copies the conv kernels cache. A second call does nothing. */
  release(): void {
    if (this.releasedAlready) return;
    this.releasedAlready = true;
    for (const n of this.graph.nodes) if (n.op === 'conv') releaseConv2dWeightCache(this.engine, n.weight);
    for (const t of this.graph.parameters()) this.engine.release(t);
    for (const fn of this.afterRelease.splice(0)) fn();
  }

  /** `using model = await loadModel(...)` releases the model at the end of the block. */
  [Symbol.dispose](): void {
    this.release();
  }
}

function build(b: GraphBuilder, arch: Architecture): void {
  switch (arch.kind) {
    case 'resnet':
      return buildTorchvisionResNet(b, arch.depth, arch.numClasses);
    case 'vgg':
      return buildTorchvisionVgg(b, arch.cfg, arch.batchNorm, arch.numClasses);
    case 'cifar_resnet':
      return buildCifarResNet(b, arch.depth, arch.numClasses);
    case 'plain_cnn':
      return buildPlainCnn(b, arch.layout);
  }
}

function family(arch: Architecture): 'imagenet' | 'cifar' | 'plain' {
  return arch.kind === 'cifar_resnet' ? 'cifar' : arch.kind === 'plain_cnn' ? 'plain' : 'imagenet';
}

function numClassesOf(arch: Architecture): number {
  return arch.kind === 'plain_cnn' ? arch.layout.classes : arch.numClasses;
}

/** Builds a model from a parsed safetensors file (Node: readSafetensorsFile; browser: fetchSafetensors). */
export function modelFromFile(engine: Engine, file: TensorFile & { metadata: Readonly<Record<string, string>> }): Model {
  const weights = fileWeights(file);
  const metadata = { ...file.metadata };
  const inputGuess = metadata.input_size ? (JSON.parse(metadata.input_size) as [number, number]) : ([32, 32] as [number, number]);
  const arch = detectArchitecture(weights, metadata, inputGuess);
  const info = infoFromMetadata(metadata, defaultInfo(family(arch), numClassesOf(arch)), arch.name, file.source);
  const builder = new GraphBuilder(engine, weights);
  try {
    build(builder, arch);
  } catch (err) {
    for (const t of builder.graph.parameters()) engine.release(t);
    throw err;
  }
  const unused = file.names().filter((n) => !weights.used.has(n) && !n.endsWith('num_batches_tracked'));
  return new Model(engine, builder.graph, info, arch, unused);
}

/**
 * A model with the seeded weights that tools/seeded_init.py also produces, so tests compare with PyTorch
 * without committing large weight files.
 */
export function seededModel(
  engine: Engine,
  architecture: string,
  seededValues: (name: string, shape: number[]) => Float32Array,
  numClasses = 1000,
): Model {
  const arch = architectureFromName(architecture, numClasses);
  if (!arch) throw new WeightsError(`unknown architecture "${architecture}"`);
  const source: WeightSource = {
    description: `seeded(${architecture})`,
    names: () => [],
    shapeOf: () => undefined,
    get: (name, shape) => seededValues(name, [...shape]),
  };
  const builder = new GraphBuilder(engine, source);
  build(builder, arch);
  const info = { ...defaultInfo(family(arch), numClasses), architecture: arch.name, source: source.description };
  return new Model(engine, builder.graph, info, arch);
}
