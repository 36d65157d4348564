import type { Model } from '../graph/model.js';
import type { NeuronTarget } from '../methods/guided-backprop.js';
import type { IntegratedGradientsBaseline } from '../methods/integrated-gradients.js';
import { QUADRATURE_RULES } from '../methods/quadrature.js';
import type { MethodRunOptions } from '../methods/registry.js';
import type { OptionSpec, OptionValues } from './options.js';
import { UsageError } from './errors.js';

/**
 * The method options every command that runs methods accepts (explain, evaluate, sanity): one definition of
 * the flags, their help text and their checks. Names carry the method they belong to, so none means two
 * things (`--hybrid-alpha` is Hybrid's blend; explain's overlay opacity is another flag). None has a
 * default here: a method's own default applies when a flag is left out.
 */
export const METHOD_OPTIONS = {
  'rise-masks': { type: 'int', arg: 'N', min: 1, max: 100_000, help: 'RISE: random masks [4000; fewer is faster and noisier]' },
  seed: { type: 'int', arg: 'N', min: 0, max: 0xffff_ffff, help: 'RISE masks, SmoothGrad noise and the random baseline [0]' },
  'smoothgrad-samples': { type: 'int', arg: 'N', min: 1, max: 10_000, help: 'SmoothGrad: noisy copies per image [50]' },
  'smoothgrad-sigma': { type: 'number', arg: 'S', min: 0, help: 'SmoothGrad: noise standard deviation [0.15]' },
  'smoothgrad-sigma-scale': {
    type: 'enum',
    values: ['relative', 'absolute'],
    help: "SmoothGrad: relative: S times the image's value range (the paper's) [relative];\nabsolute: S in normalised-input units",
  },
  'ig-steps': { type: 'int', arg: 'N', min: 1, max: 10_000, help: 'Integrated Gradients: points on the path [50]' },
  'ig-baseline': {
    type: 'custom',
    arg: 'zero|black|blur|NUMBER',
    help: "Integrated Gradients: the path's start: 0 in the normalised input (the dataset mean) [zero],\nblack pixels, the image blurred (Gaussian sigma 5), or a constant",
    parse: (text: string, flag: string): IntegratedGradientsBaseline => {
      if (text === 'zero') return 0;
      if (text === 'black' || text === 'blur') return text;
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${flag} must be zero, black, blur or a number, got "${text}"`);
      return v;
    },
  },
  'ig-rule': { type: 'enum', arg: 'RULE', values: QUADRATURE_RULES, help: 'Integrated Gradients: quadrature rule [riemann_right]' },
  'hybrid-alpha': {
    type: 'number',
    arg: 'A',
    min: 0,
    max: 1,
    help: "Hybrid Grad-LayerCAM: Grad-CAM's weight (1 = Grad-CAM, 0 = LayerCAM) [0.7]",
  },
  'l2caf-mode': {
    type: 'enum',
    values: ['oblivious', 'specific'],
    help: "L2-CAF loss: keep all logits, or the target's against the others [oblivious]",
  },
  neuron: {
    type: 'custom',
    arg: 'LAYER[:C[:Y:X]]',
    help: 'guided-backprop and deconvnet: explain one unit of LAYER instead of a class\n(channel C at row Y, column X; omitted parts: the strongest activation)',
    parse: (text: string): NeuronTarget => parseNeuron(text),
  },
  'score-cam-batch': {
    type: 'int',
    arg: 'N',
    min: 1,
    max: 1024,
    help: 'Score-CAM: masked images per forward pass, at most (fewer where they would not fit the GPU) [64]',
  },
} as const satisfies Record<string, OptionSpec>;

type MethodOptionValues = OptionValues<typeof METHOD_OPTIONS>;

/** The parsed flags as the registry's method options (no model needed: call before loading anything). */
export function methodRunOptions(values: MethodOptionValues): MethodRunOptions {
  const opts: MethodRunOptions = {
    masks: values['rise-masks'],
    seed: values.seed,
    samples: values['smoothgrad-samples'],
    sigma: values['smoothgrad-sigma'],
    sigmaScale: values['smoothgrad-sigma-scale'],
    steps: values['ig-steps'],
    baseline: values['ig-baseline'],
    rule: values['ig-rule'],
    hybridAlpha: values['hybrid-alpha'],
    l2cafMode: values['l2caf-mode'],
    neuron: values.neuron,
    scoreCamBatch: values['score-cam-batch'],
  };
  if (opts.rule === 'riemann_trapezoid' && opts.steps === 1) throw new UsageError('--ig-rule riemann_trapezoid needs --ig-steps 2 or more');
  for (const k of Object.keys(opts) as (keyof MethodRunOptions)[]) if (opts[k] === undefined) delete opts[k];
  return opts;
}

/** LAYER, LAYER:C or LAYER:C:Y:X (layer names hold dots, never colons). */
export function parseNeuron(text: string): NeuronTarget {
  const parts = text.split(':');
  const [layer, ...rest] = parts;
  const ints = rest.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (!layer || ![0, 1, 3].includes(rest.length) || ints.some(Number.isNaN))
    throw new UsageError(`--neuron must be LAYER, LAYER:CHANNEL or LAYER:CHANNEL:ROW:COL with non-negative integers, got "${text}"`);
  const [channel, row, col] = ints;
  return { layer, ...(channel === undefined ? {} : { channel }), ...(row === undefined ? {} : { row, col }) };
}

/** The checks that need the model: the neuron's layer exists. Call after loading, before running. */
export function checkMethodOptions(model: Model, opts: MethodRunOptions): void {
  if (opts.neuron) model.assertLayer(opts.neuron.layer);
}
