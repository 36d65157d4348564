/**
 * Model-parameter randomisation for the sanity checks (Adebayo et al. 2018), on copies: the loaded model
 * is never written to. A copy shares the graph's untouched nodes and weight tensors with the original and
 * replaces the randomised nodes by clones holding new tensors, so the conv kernels' packed-weight cache
 * (keyed on the tensor) can never serve stale weights.
 *
 * A randomised tensor keeps the mean and standard deviation of the one it replaces (so activations keep
 * their scale and the randomised network neither explodes nor dies) with Gaussian values drawn from
 * util/random.ts: stream = the node's position and the tensor's slot, under the seed. The same layer gets
 * the same values in every copy, so a cascading run adds one randomised layer per step to the last.
 */
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import type { GraphNode } from '../graph/graph.js';
import { paramValue, type Param } from '../graph/ops/op.js';
import { Model } from '../graph/model.js';
import { releaseConv2dWeightCache } from '../kernels/conv2d.js';
import { releaseLinearWeight, uploadLinearWeight, type LinearWeight } from '../kernels/matmul.js';
import { fillNormal } from '../util/random.js';

/** A unit of randomisation: one or more graph nodes with parameters, named as PyTorch names the module. */
export interface RandomisableLayer {
  name: string;
  nodes: number[];
}

/** What one randomisation step replaces: a residual block (or conv + batch-norm), or every parameterised module. */
export type Granularity = 'block' | 'module';

/**
 * The model's parameterised layers from the output back to the input (the order of a cascading run).
 * 'module': every conv and linear, with the batch-norm right after a conv joined to it; 'block': as
 * 'module', then merged per residual block (`layer3.1`), the unit Adebayo et al. randomise in an Inception.
 */
export function randomisableLayers(model: Model, granularity: Granularity = 'block'): RandomisableLayer[] {
  const units: RandomisableLayer[] = [];
  model.graph.nodes.forEach((node, i) => {
    if (node.op !== 'conv' && node.op !== 'affine' && node.op !== 'linear') return;
    const prev = units[units.length - 1];
    const prevNode = prev ? model.graph.nodes[prev.nodes[prev.nodes.length - 1]] : undefined;
    if (node.op === 'affine' && prevNode?.op === 'conv' && prevNode.output === node.inputs[0]) prev.nodes.push(i);
    else units.push({ name: node.name.replace(/#\d+$/, ''), nodes: [i] });
  });
  if (granularity === 'module') return units.reverse();
  const merged: RandomisableLayer[] = [];
  for (const u of units) {
    const block = /^(layer\d+\.\d+)(\.|$)/.exec(u.name)?.[1];
    const last = merged[merged.length - 1];
    if (block && last?.name === block) last.nodes.push(...u.nodes);
    else merged.push({ name: block ?? u.name, nodes: [...u.nodes] });
  }
  return merged.reverse();
}

/** Makes randomised copies of one model; owns every tensor it creates until `release()`. */
export class ModelRandomiser {
  private readonly replaced = new Map<number, GraphNode>();
  private readonly owned: Tensor[] = [];
  private readonly ownedLinear: LinearWeight[] = [];

  constructor(
    readonly model: Model,
    readonly seed = 0,
  ) {}

  /**
   * A model whose nodes at `nodeIndices` carry randomised parameters. It borrows the original's other
   * tensors: release it with this randomiser's `release()`, never with its own `release()`.
   */
  async copyWith(nodeIndices: Iterable<number>): Promise<Model> {
    const chosen = new Set(nodeIndices);
    const copies = new Map<number, GraphNode>();
    for (const i of chosen) copies.set(i, await this.randomised(i));
    const graph = this.model.graph.mapNodes((node, i) => copies.get(i) ?? node);
    const m = this.model;
    return new Model(m.engine, graph, { ...m.info, source: `${m.info.source} (randomised)` }, m.arch);
  }

  release(): void {
    const e = this.model.engine;
    for (const node of this.replaced.values()) if (node.op === 'conv' && node.weight.value) releaseConv2dWeightCache(e, node.weight.value);
    e.releaseAll(...this.owned);
    for (const w of this.ownedLinear) releaseLinearWeight(e, w);
    this.owned.length = 0;
    this.ownedLinear.length = 0;
    this.replaced.clear();
  }

  private async randomised(index: number): Promise<GraphNode> {
    const cached = this.replaced.get(index);
    if (cached) return cached;
    const node = this.model.graph.nodes[index];
    const e = this.model.engine;
    const stream = (slot: number) => index * 4 + slot;
    let copy: GraphNode;
    if (node.op === 'conv') {
      copy = {
        ...node,
        weight: await this.randomParam(e, node.weight, stream(0)),
        bias: node.bias ? await this.randomParam(e, node.bias, stream(1)) : null,
      };
    } else if (node.op === 'affine') {
      copy = {
        ...node,
        scale: await this.randomParam(e, node.scale, stream(0)),
        shift: await this.randomParam(e, node.shift, stream(1)),
      };
    } else if (node.op === 'linear') {
      const w = paramValue(node.weight);
      const values = new Float32Array(w.rows * w.cols);
      let offset = 0;
      for (const chunk of w.chunks) {
        const part = await chunk.readF32();
        values.set(part, offset);
        offset += part.length;
      }
      const weight = uploadLinearWeight(e, randomLike(values, this.seed, stream(0)), w.rows, w.cols, `${node.name}.weight.randomised`);
      this.ownedLinear.push(weight);
      copy = {
        ...node,
        weight: { ...node.weight, value: weight },
        bias: node.bias ? await this.randomParam(e, node.bias, stream(1)) : null,
      };
    } else {
      throw new Error(`node ${node.name} (${node.op}) has no parameters to randomise`);
    }
    this.replaced.set(index, copy);
    return copy;
  }

  private async randomParam(e: Engine, p: Param, stream: number): Promise<Param> {
    const t = paramValue(p);
    const r = e.upload(randomLike(await t.readF32(), this.seed, stream), t.shape, `${p.name}.randomised`);
    this.owned.push(r);
    return { ...p, value: r };
  }
}

/** Gaussian values with the mean and standard deviation of `values`. */
function randomLike(values: Float32Array, seed: number, stream: number): Float32Array {
  let mean = 0;
  for (const v of values) mean += v / values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2 / values.length;
  const out = new Float32Array(values.length);
  fillNormal(out, seed, stream, 0, Math.sqrt(variance));
  for (let i = 0; i < out.length; i++) out[i] += mean;
  return out;
}
