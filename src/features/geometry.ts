/**
 * A model's graph without its weights: the same architecture builders as `modelFromFile`, fed to a
 * builder that records kernel shapes and options but uploads nothing. For receptive-field arithmetic on
 * models too large to instantiate just to read their geometry (VGG-16 has 138M parameters).
 * The parameter slots hold shape-only stand-ins, so such a graph must never be executed.
 */
import type { Tensor } from '../gpu/tensor.js';
import { architectureFromName, type Architecture } from '../graph/architectures/detect.js';
import { buildCifarResNet } from '../graph/architectures/cifar-resnet.js';
import { buildPlainCnn } from '../graph/architectures/plain-cnn.js';
import { buildTorchvisionResNet } from '../graph/architectures/torchvision-resnet.js';
import { buildTorchvisionVgg } from '../graph/architectures/torchvision-vgg.js';
import type { GraphBuilder } from '../graph/builder.js';
import { Graph, type ValueId } from '../graph/graph.js';
import type { Conv2dOptions } from '../kernels/conv2d.js';
import type { LinearWeight } from '../kernels/matmul.js';
import type { Pool2dOptions } from '../kernels/pool.js';
import { FeatureInputError } from './errors.js';

/** A tensor-shaped placeholder: has a shape, and throws if anything tries to reach its GPU buffer. */
function placeholder(shape: number[], label: string): Tensor {
  return {
    shape,
    size: shape.reduce((a, b) => a * b, 1),
    rank: shape.length,
    dtype: 'f32',
    get buffer(): never {
      throw new FeatureInputError(`${label}: this graph holds geometry only (no weights); it cannot be executed`);
    },
  } as unknown as Tensor;
}

class GeometryBuilder {
  readonly graph = new Graph();
  readonly engine = null;
  readonly weights = null;

  conv(name: string, x: ValueId, cin: number, cout: number, k: number, opts: Conv2dOptions & { bias?: boolean } = {}): ValueId {
    const groups = opts.groups ?? 1;
    const { bias, ...convOpts } = opts;
    const weight = placeholder([cout, cin / groups, k, k], `${name}.weight`);
    return this.graph.add({
      op: 'conv',
      name,
      inputs: [x],
      weight,
      bias: bias ? placeholder([cout], `${name}.bias`) : null,
      opts: convOpts,
    });
  }
  batchNorm(name: string, x: ValueId, c: number): ValueId {
    return this.graph.add({ op: 'affine', name, inputs: [x], scale: placeholder([c], name), shift: placeholder([c], name) });
  }
  relu(name: string, x: ValueId): ValueId {
    return this.graph.add({ op: 'relu', name, inputs: [x] });
  }
  maxPool(name: string, x: ValueId, opts: Pool2dOptions): ValueId {
    return this.graph.add({ op: 'maxpool', name, inputs: [x], opts });
  }
  adaptiveAvgPool(name: string, x: ValueId, size: [number, number]): ValueId {
    return this.graph.add({ op: 'adaptiveavgpool', name, inputs: [x], size });
  }
  add(name: string, a: ValueId, b: ValueId): ValueId {
    return this.graph.add({ op: 'add', name, inputs: [a, b] });
  }
  shortcutA(name: string, x: ValueId, outChannels: number): ValueId {
    return this.graph.add({ op: 'shortcutA', name, inputs: [x], outChannels });
  }
  flatten(name: string, x: ValueId): ValueId {
    return this.graph.add({ op: 'flatten', name, inputs: [x] });
  }
  identity(name: string, x: ValueId): ValueId {
    return this.graph.add({ op: 'identity', name, inputs: [x] });
  }
  linear(name: string, x: ValueId, fin: number, fout: number): ValueId {
    const weight = placeholder([fout, fin], `${name}.weight`) as unknown as LinearWeight;
    return this.graph.add({ op: 'linear', name, inputs: [x], weight, bias: placeholder([fout], `${name}.bias`) });
  }
  alias(name: string, v: ValueId): ValueId {
    this.graph.alias(name, v);
    return v;
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

/** The graph of a named architecture (`resnet50`, `vgg16`, `cifar_resnet20`, ...) with no weights. */
export function geometryGraph(architecture: string | Architecture, numClasses = 1000): Graph {
  const arch = typeof architecture === 'string' ? architectureFromName(architecture, numClasses) : architecture;
  if (!arch) throw new FeatureInputError(`unknown architecture "${architecture}"; e.g. resnet50, vgg16, vgg16_bn, cifar_resnet20`);
  const b = new GeometryBuilder();
  build(b as unknown as GraphBuilder, arch);
  return b.graph;
}
