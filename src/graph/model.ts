import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { architectureFromName, detectArchitecture, uploadedGraph, type Architecture } from './architectures/registry.js';
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
import { defaultInfo, infoFromMetadata, metadataInputSize, type ModelInfo } from './model-info.js';
import { fileWeights, WeightsError, type TensorFile, type WeightCheckOptions, type WeightSource } from './weights.js';
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
    // A scope: a pass that throws half-way gives back the activations it had made.
    return this.engine.scope(() => runForward(this.engine, this.graph, x, opts));
  }

  backward(trace: Trace, seed: BackwardSeed, opts: BackwardOptions = {}): BackwardResult {
    return this.engine.scope(() => runBackward(this.engine, trace, seed, opts));
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

  /** The last convolutional stage: where CAM-family methods look by default (the architecture's choice). */
  get defaultCamLayer(): string {
    return this.arch.camLayer(this.graph);
  }

  /** E2CM exits: after the stem and after every block or stage (the architecture's choice). */
  get exitLayers(): string[] {
    return this.arch.exits(this.graph);
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
    this.graph.release(this.engine);
    for (const fn of this.afterRelease.splice(0)) fn();
  }

  /** `using model = await loadModel(...)` releases the model at the end of the block. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Builds a model from a parsed safetensors file (Node: readSafetensorsFile; browser: fetchSafetensors). */
export function modelFromFile(
  engine: Engine,
  file: TensorFile & { metadata: Readonly<Record<string, string>> },
  checks: WeightCheckOptions = {},
): Model {
  const weights = fileWeights(file, checks);
  const metadata = { ...file.metadata };
  const inputGuess = metadataInputSize(metadata, file.source) ?? ([32, 32] as [number, number]);
  const arch = detectArchitecture(weights, metadata, inputGuess);
  const info = infoFromMetadata(metadata, defaultInfo(arch.preprocessing, arch.numClasses), arch.name, file.source);
  const graph = uploadedGraph(engine, arch, weights);
  const unused = file.names().filter((n) => !weights.used.has(n) && !n.endsWith('num_batches_tracked'));
  return new Model(engine, graph, info, arch, unused);
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
  const info = { ...defaultInfo(arch.preprocessing, numClasses), architecture: arch.name, source: source.description };
  return new Model(engine, uploadedGraph(engine, arch, source), info, arch);
}
