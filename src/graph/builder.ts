import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { batchNormToAffine } from '../kernels/channel-affine.js';
import type { Conv2dOptions } from '../kernels/conv2d.js';
import { uploadLinearWeight, type LinearWeight } from '../kernels/matmul.js';
import type { Pool2dOptions } from '../kernels/pool.js';
import { Graph, type ValueId } from './graph.js';
import type { Param } from './ops/op.js';
import type { WeightSource } from './weights.js';

/**
 * Where a builder's parameters come from. `uploadParameters` reads each tensor from a weight source
 * and uploads it; `SHAPE_ONLY` records names and shapes only, for the geometry of models too large
 * to instantiate just to read it (receptive fields of VGG-16's 138M parameters).
 */
export interface ParameterFactory {
  /** The tensor `name` of exactly `shape` (state_dict naming), or null. */
  tensor(name: string, shape: readonly number[], layer: string): Tensor | null;
  /** A linear layer's (rows, cols) weight, split under the binding limit, or null. */
  linear(name: string, rows: number, cols: number, layer: string): LinearWeight | null;
  /** Inference batch-norm `module` folded into a per-channel scale and shift, or null. */
  batchNorm(module: string, channels: number, eps: number): { scale: Tensor; shift: Tensor } | null;
}

export function uploadParameters(engine: Engine, weights: WeightSource): ParameterFactory {
  return {
    tensor: (name, shape, layer) => engine.upload(weights.get(name, shape, layer), shape, name),
    linear: (name, rows, cols, layer) => uploadLinearWeight(engine, weights.get(name, [rows, cols], layer), rows, cols, name),
    batchNorm(module, c, eps) {
      const p = (k: string) => weights.get(`${module}.${k}`, [c], module);
      const { scale, shift } = batchNormToAffine(p('weight'), p('bias'), p('running_mean'), p('running_var'), eps);
      return { scale: engine.upload(scale, [c], `${module}.scale`), shift: engine.upload(shift, [c], `${module}.shift`) };
    },
  };
}

export const SHAPE_ONLY: ParameterFactory = { tensor: () => null, linear: () => null, batchNorm: () => null };

/**
 * Appends PyTorch-named layers to a graph; architectures (`architectures/`) are written against it.
 * One builder for every use: what the parameters become is the factory's business.
 */
export class GraphBuilder {
  readonly graph = new Graph();

  constructor(readonly params: ParameterFactory) {}

  private param(name: string, shape: readonly number[], layer: string): Param {
    return { name, shape, value: this.params.tensor(name, shape, layer) };
  }

  /** nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias) named `name`. */
  conv(
    name: string,
    x: ValueId,
    cin: number,
    cout: number,
    k: number,
    opts: Omit<Conv2dOptions, 'activation' | 'variant'> & { bias?: boolean } = {},
  ): ValueId {
    const { bias, ...convOpts } = opts;
    const groups = convOpts.groups ?? 1;
    if (cin % groups !== 0 || cout % groups !== 0)
      throw new Error(`${name}: ${cin} -> ${cout} channels do not divide into ${groups} groups`);
    const weight = this.param(`${name}.weight`, [cout, cin / groups, k, k], name);
    const b = bias ? this.param(`${name}.bias`, [cout], name) : null;
    return this.graph.add({ op: 'conv', name, inputs: [x], weight, bias: b, opts: convOpts });
  }

  /** nn.BatchNorm2d(c, eps) in inference form. */
  batchNorm(name: string, x: ValueId, c: number, eps = 1e-5): ValueId {
    const folded = this.params.batchNorm(name, c, eps);
    return this.graph.add({
      op: 'affine',
      name,
      inputs: [x],
      scale: { name: `${name}.scale`, shape: [c], value: folded?.scale ?? null },
      shift: { name: `${name}.shift`, shape: [c], value: folded?.shift ?? null },
    });
  }

  linear(name: string, x: ValueId, fin: number, fout: number): ValueId {
    const weight: Param<LinearWeight> = {
      name: `${name}.weight`,
      shape: [fout, fin],
      value: this.params.linear(`${name}.weight`, fout, fin, name),
    };
    const bias = this.param(`${name}.bias`, [fout], name);
    return this.graph.add({ op: 'linear', name, inputs: [x], weight, bias });
  }

  /** An element-wise op with no parameters: relu, relu6, hardswish, hardsigmoid, silu, sigmoid, identity, flatten. */
  unary(
    op: 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | 'silu' | 'sigmoid' | 'identity' | 'flatten',
    name: string,
    x: ValueId,
  ): ValueId {
    return this.graph.add({ op, name, inputs: [x] });
  }

  relu(name: string, x: ValueId): ValueId {
    return this.unary('relu', name, x);
  }

  /** Dropout, stochastic depth, nn.Identity: identity at inference. */
  identity(name: string, x: ValueId): ValueId {
    return this.unary('identity', name, x);
  }

  flatten(name: string, x: ValueId): ValueId {
    return this.unary('flatten', name, x);
  }

  maxPool(name: string, x: ValueId, opts: Pool2dOptions): ValueId {
    return this.graph.add({ op: 'maxpool', name, inputs: [x], opts });
  }

  avgPool(name: string, x: ValueId, opts: Pool2dOptions): ValueId {
    return this.graph.add({ op: 'avgpool', name, inputs: [x], opts });
  }

  adaptiveAvgPool(name: string, x: ValueId, size: [number, number]): ValueId {
    return this.graph.add({ op: 'adaptiveavgpool', name, inputs: [x], size });
  }

  add(name: string, a: ValueId, b: ValueId): ValueId {
    return this.graph.add({ op: 'add', name, inputs: [a, b] });
  }

  /** The squeeze-and-excitation gate: x (N, C, H, W) times s (N, C, 1, 1). */
  channelScale(name: string, x: ValueId, s: ValueId): ValueId {
    return this.graph.add({ op: 'channelScale', name, inputs: [x, s] });
  }

  /** torch.cat(xs, 1). */
  concat(name: string, xs: ValueId[]): ValueId {
    return this.graph.add({ op: 'concat', name, inputs: xs });
  }

  shortcutA(name: string, x: ValueId, outChannels: number): ValueId {
    return this.graph.add({ op: 'shortcutA', name, inputs: [x], outChannels });
  }

  alias(name: string, v: ValueId): ValueId {
    this.graph.alias(name, v);
    return v;
  }
}
