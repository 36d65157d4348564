import type { GraphBuilder } from '../builder.js';
import type { Graph } from '../graph.js';
import type { WeightSource } from '../weights.js';

/** Which input conventions an architecture's weights expect by default (model-info.ts has the numbers). */
export type Preprocessing = 'imagenet' | 'cifar' | 'plain';

/**
 * One resolved architecture: how to build its graph and the facts methods need about it, so no
 * method switches on architecture names.
 */
export interface Architecture {
  /** e.g. `resnet50`, `vgg16_bn`, `mobilenet_v2`, `densenet121`, `cifar_resnet20`, `plain_cnn`. */
  readonly name: string;
  /** The family's name in the registry, e.g. `resnet`, `mobilenet_v3`. */
  readonly family: string;
  readonly numClasses: number;
  readonly preprocessing: Preprocessing;
  /** The classifier reads a flattened map of one size (no adaptive pooling): inputs must match it. */
  readonly fixedInputSize: boolean;
  /** Appends the layers, named as PyTorch's `named_modules`, to `b`. */
  build(b: GraphBuilder): void;
  /** Where CAM-family methods look by default: the last convolutional stage. */
  camLayer(graph: Graph): string;
  /** E2CM exits in execution order: after the stem and after every block or stage. */
  exits(graph: Graph): string[];
}

/** A family of architectures in the registry (`registry.ts`). */
export interface ArchitectureFamily {
  readonly family: string;
  /** The names `fromName` accepts, for help and error messages. */
  readonly names: readonly string[];
  /** The architecture called `name` with a `numClasses` head, or undefined when the name is not this family's. */
  fromName(name: string, numClasses: number): Architecture | undefined;
  /** The classifier weight whose rows count the classes. */
  classifierWeight(name: string): string;
  /** The architecture of a weights file from its tensor names and shapes, or undefined when they are not this family's. */
  detect(weights: WeightSource, inputSize: [number, number]): Architecture | undefined;
}

/** Layer names of the graph matching `pattern`, in execution order. */
export function layersMatching(graph: Graph, pattern: RegExp): string[] {
  return graph.layerNames().filter((n) => pattern.test(n));
}

/** True when `weights` holds `name` with exactly `shape`. */
export function hasShape(weights: WeightSource, name: string, shape: readonly number[]): boolean {
  const s = weights.shapeOf(name);
  return !!s && s.length === shape.length && s.every((d, i) => d === shape[i]);
}
