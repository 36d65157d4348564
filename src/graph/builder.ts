import type { Engine } from '../gpu/engine.js';
import { batchNormToAffine } from '../kernels/channel-affine.js';
import type { Conv2dOptions } from '../kernels/conv2d.js';
import { uploadLinearWeight } from '../kernels/matmul.js';
import type { Pool2dOptions } from '../kernels/pool.js';
import { Graph, type ValueId } from './graph.js';
import type { WeightSource } from './weights.js';

/** Appends PyTorch-named layers to a graph, uploading their parameters from a weight source. */
export class GraphBuilder {
  readonly graph = new Graph();

  constructor(
    readonly engine: Engine,
    readonly weights: WeightSource,
  ) {}

  conv(name: string, x: ValueId, cin: number, cout: number, k: number, opts: Conv2dOptions & { bias?: boolean } = {}): ValueId {
    const groups = opts.groups ?? 1;
    const shape = [cout, cin / groups, k, k];
    const weight = this.engine.upload(this.weights.get(`${name}.weight`, shape, name), shape, `${name}.weight`);
    const bias = opts.bias ? this.engine.upload(this.weights.get(`${name}.bias`, [cout], name), [cout], `${name}.bias`) : null;
    const { bias: _ignored, ...convOpts } = opts;
    return this.graph.add({ op: 'conv', name, inputs: [x], weight, bias, opts: convOpts });
  }

  batchNorm(name: string, x: ValueId, c: number, eps = 1e-5): ValueId {
    const p = (k: string) => this.weights.get(`${name}.${k}`, [c], name);
    const { scale, shift } = batchNormToAffine(p('weight'), p('bias'), p('running_mean'), p('running_var'), eps);
    return this.graph.add({
      op: 'affine',
      name,
      inputs: [x],
      scale: this.engine.upload(scale, [c], `${name}.scale`),
      shift: this.engine.upload(shift, [c], `${name}.shift`),
    });
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
    const w = this.weights.get(`${name}.weight`, [fout, fin], name);
    const weight = uploadLinearWeight(this.engine, w, fout, fin, `${name}.weight`);
    const bias = this.engine.upload(this.weights.get(`${name}.bias`, [fout], name), [fout], `${name}.bias`);
    return this.graph.add({ op: 'linear', name, inputs: [x], weight, bias });
  }

  alias(name: string, v: ValueId): ValueId {
    this.graph.alias(name, v);
    return v;
  }
}
