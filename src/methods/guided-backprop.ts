import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { fillAt } from '../kernels/elementwise.js';
import { argmax } from '../kernels/reduce.js';
import type { ReluRule } from '../kernels/relu.js';
import { assertImageBatch, type Attribution, type MethodOptions } from './common.js';
import { inputGradient } from './saliency.js';
import { scoped } from '../gpu/scopes.js';

/**
 * One unit to explain instead of a class logit: channel `channel` at (row, col) of `layer`'s output.
 * Omitted fields default to the strongest activation of that layer (over all channels and positions,
 * or over positions of the given channel).
 */
export interface NeuronTarget {
  layer: string;
  channel?: number;
  row?: number;
  col?: number;
}

/** Options of {@link guidedBackprop} and {@link deconvnet}: start from a single neuron instead of a class. */
export interface GradientMethodOptions extends MethodOptions {
  neuron?: NeuronTarget;
}

/** Guided backpropagation (Springenberg et al. 2015): signed input-space map (N, 3, H, W). */
export const guidedBackprop = scoped(function guidedBackprop(
  model: Model,
  x: Tensor,
  opts: GradientMethodOptions = {},
): Promise<Attribution> {
  return ruleGradient(model, x, opts, 'guided', 'guided-backprop');
});

/** DeconvNet (Zeiler & Fergus 2014): the backward ReLU passes positive upstream signal only. */
export const deconvnet = scoped(function deconvnet(model: Model, x: Tensor, opts: GradientMethodOptions = {}): Promise<Attribution> {
  return ruleGradient(model, x, opts, 'deconvnet', 'deconvnet');
});

async function ruleGradient(model: Model, x: Tensor, opts: GradientMethodOptions, rule: ReluRule, method: string): Promise<Attribution> {
  if (opts.neuron) {
    const { grad, units } = await neuronGradient(model, x, opts.neuron, rule);
    return { method, kind: 'signed', maps: grad, targets: units.map((u) => u.channel), layer: opts.neuron.layer };
  }
  const { grad, targets } = await inputGradient(model, x, { ...opts, rule });
  return { method, kind: 'signed', maps: grad, targets };
}

export interface Unit {
  channel: number;
  row: number;
  col: number;
}

/**
 * The classic recipe: zero every value of the layer's output except the unit of interest (keeping its
 * activation as the injected gradient, as Zeiler & Fergus project the activation itself), propagate
 * to the input under the rule. Returns the input gradient and the unit chosen per image.
 */
export const neuronGradient = scoped(async function neuronGradient(
  model: Model,
  x: Tensor,
  neuron: NeuronTarget,
  rule: ReluRule,
): Promise<{ grad: Tensor; units: Unit[] }> {
  assertImageBatch(model, x);
  assertNeuron(neuron);
  const e = model.engine;
  const trace = model.forward(x, { keep: [neuron.layer] });
  try {
    const A = trace.activation(neuron.layer);
    if (A.rank !== 4)
      throw new KernelInputError(`neuron targets need a spatial layer (N, C, H, W); "${neuron.layer}" is [${A.shape.join(', ')}]`);
    const [n, c, h, w] = A.shape;
    const units = await chooseUnits(model, A, neuron);
    const values = await A.readF32();
    const seed = e.zeros(A.shape, 'f32', 'seed.neuron');
    const indices = units.map((u, i) => ((i * c + u.channel) * h + u.row) * w + u.col);
    // A unit that is exactly zero would inject nothing; use 1 then so the receptive field still shows.
    fillAt(
      e,
      seed,
      indices,
      indices.map((k) => (values[k] !== 0 ? values[k] : 1)),
    );
    const back = model.backward(trace, { layer: neuron.layer, grad: seed }, { rule });
    e.release(seed);
    void n;
    return { grad: back.input!, units };
  } finally {
    trace.release();
  }
});

/** A neuron given from JavaScript may be anything: a layer name and whole, non-negative indices only. */
function assertNeuron(neuron: NeuronTarget): void {
  const ok =
    typeof neuron === 'object' &&
    neuron !== null &&
    typeof neuron.layer === 'string' &&
    [neuron.channel, neuron.row, neuron.col].every((v) => v === undefined || (Number.isInteger(v) && v >= 0));
  if (!ok)
    throw new KernelInputError(
      `neuron must be { layer, channel?, row?, col? }: a layer name and integer indices >= 0, got ${JSON.stringify(neuron)}`,
    );
}

async function chooseUnits(model: Model, A: Tensor, neuron: NeuronTarget): Promise<Unit[]> {
  const [n, c, h, w] = A.shape;
  const { channel, row, col } = neuron;
  if (channel !== undefined && (channel < 0 || channel >= c))
    throw new KernelInputError(`channel ${channel} out of range: "${neuron.layer}" has ${c} channels`);
  if (row !== undefined && (row < 0 || row >= h)) throw new KernelInputError(`row ${row} out of range: "${neuron.layer}" is ${h}x${w}`);
  if (col !== undefined && (col < 0 || col >= w)) throw new KernelInputError(`col ${col} out of range: "${neuron.layer}" is ${h}x${w}`);
  if (channel !== undefined && row !== undefined && col !== undefined) return Array(n).fill({ channel, row, col });
  // Strongest activation per image (over everything, or over the given channel's plane).
  const e = model.engine;
  const flat = A.reshape([n, c * h * w]);
  const idx = argmax(e, flat, 1);
  const best = await idx.read();
  e.release(idx);
  const values = channel === undefined ? null : await A.readF32();
  return Array.from({ length: n }, (_, i) => {
    if (channel === undefined) {
      const k = best[i];
      return { channel: Math.floor(k / (h * w)), row: Math.floor((k % (h * w)) / w), col: k % w };
    }
    const plane = values!.subarray((i * c + channel) * h * w, (i * c + channel + 1) * h * w);
    let k = 0;
    for (let p = 1; p < plane.length; p++) if (plane[p] > plane[k]) k = p;
    return { channel, row: row ?? Math.floor(k / w), col: col ?? k % w };
  });
}
