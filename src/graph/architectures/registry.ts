/**
 * The architecture registry: every family LayerTracer builds, how a name or a weights file resolves
 * to one, and the one graph builder entry point (upload the weights, or shapes only).
 */
import type { Engine } from '../../gpu/engine.js';
import { GraphBuilder, SHAPE_ONLY, uploadParameters, type ParameterFactory } from '../builder.js';
import type { Graph } from '../graph.js';
import { WeightsError, type WeightSource } from '../weights.js';
import type { Architecture, ArchitectureFamily } from './architecture.js';
import { CIFAR_RESNET } from './cifar-resnet.js';
import { DENSENET } from './densenet.js';
import { EFFICIENTNET } from './efficientnet.js';
import { MOBILENET_V2 } from './mobilenet-v2.js';
import { MOBILENET_V3 } from './mobilenet-v3.js';
import { PLAIN_CNN } from './plain-cnn.js';
import { RESNET } from './torchvision-resnet.js';
import { VGG } from './torchvision-vgg.js';

export type { Architecture, ArchitectureFamily };

/** In the order key-name inference tries them (more specific key patterns first). */
export const FAMILIES: readonly ArchitectureFamily[] = [
  CIFAR_RESNET,
  RESNET,
  VGG,
  MOBILENET_V2,
  MOBILENET_V3,
  EFFICIENTNET,
  DENSENET,
  PLAIN_CNN,
];

/** Every architecture name, ImageNet families first. */
export const KNOWN_ARCHITECTURES: readonly string[] = [
  RESNET,
  VGG,
  MOBILENET_V2,
  MOBILENET_V3,
  EFFICIENTNET,
  DENSENET,
  CIFAR_RESNET,
  PLAIN_CNN,
].flatMap((f) => f.names);

/** Parses names such as `resnet50`, `vgg16_bn`, `mobilenet_v2`, `densenet121`, `cifar_resnet56`. */
export function architectureFromName(name: string, numClasses: number): Architecture | undefined {
  for (const f of FAMILIES) {
    const arch = f.fromName(name, numClasses);
    if (arch) return arch;
  }
  return undefined;
}

/**
 * The architecture of a weights file: from its metadata when stated (the head's width from the
 * classifier weight), else inferred from the tensor names and shapes; otherwise an error saying what is known.
 */
export function detectArchitecture(weights: WeightSource, metadata: Record<string, string>, inputSize: [number, number]): Architecture {
  const declared = metadata.architecture;
  if (declared) {
    const name = declared === 'cifar_resnet' && metadata.depth ? `cifar_resnet${metadata.depth}` : declared;
    for (const f of FAMILIES) {
      const arch = f.fromName(name, weights.shapeOf(f.classifierWeight(name))?.[0] ?? 1000);
      if (arch) return arch;
    }
    // A name no family knows is refused, not guessed from the keys: the file says it is something else.
    // Known names whose shape comes from the weights (`plain_cnn`, `cifar_resnet` without its depth, and
    // the layer description the ConvNetJS plain CNN's exporter writes) are inferred below.
    const known = KNOWN_ARCHITECTURES.includes(name) || declared === 'cifar_resnet' || declared.startsWith('features.0 conv');
    if (!known) throw unknownArchitecture(weights, declared);
  }
  for (const f of FAMILIES) {
    const arch = f.detect(weights, inputSize);
    if (arch) return arch;
  }
  throw unknownArchitecture(weights, declared);
}

function unknownArchitecture(weights: WeightSource, declared: string | undefined): WeightsError {
  return new WeightsError(
    `${weights.description}: cannot tell the architecture${declared ? ` (metadata says "${declared}")` : ''}. ` +
      `Known: ${KNOWN_ARCHITECTURES.join(', ')}. Export the weights with tools/export_weights.py, which records it in the metadata, ` +
      'or pass the architecture name explicitly.',
  );
}

/** The graph of `arch` with parameters from `params`; on an error, whatever was uploaded is released. */
export function buildGraph(arch: Architecture, params: ParameterFactory, engine?: Engine): Graph {
  const b = new GraphBuilder(params);
  try {
    arch.build(b);
  } catch (err) {
    if (engine) b.graph.release(engine);
    throw err;
  }
  return b.graph;
}

/** The graph of `arch` with its weights uploaded from `weights`. */
export function uploadedGraph(engine: Engine, arch: Architecture, weights: WeightSource): Graph {
  return buildGraph(arch, uploadParameters(engine, weights), engine);
}

/**
 * A named architecture's graph with shapes but no weights (`resnet50`, `vgg16`, `mobilenet_v2`, ...), for
 * receptive fields and FLOPs of models too large to instantiate just to read their geometry. It cannot run.
 */
export function shapeOnlyGraph(architecture: string | Architecture, numClasses = 1000): Graph {
  const arch = typeof architecture === 'string' ? architectureFromName(architecture, numClasses) : architecture;
  if (!arch) throw new WeightsError(`unknown architecture "${architecture}"; known: ${KNOWN_ARCHITECTURES.join(', ')}`);
  return buildGraph(arch, SHAPE_ONLY);
}
