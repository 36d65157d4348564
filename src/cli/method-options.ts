import type { ParseArgsConfig } from 'node:util';
import type { Model } from '../graph/model.js';
import type { NeuronTarget } from '../methods/guided-backprop.js';
import type { IntegratedGradientsBaseline } from '../methods/integrated-gradients.js';
import { parseQuadratureRule, QUADRATURE_RULES } from '../methods/quadrature.js';
import type { MethodRunOptions } from '../methods/registry.js';
import { UsageError } from './errors.js';

/**
 * The method options every command that runs methods accepts (explain, evaluate, sanity): one definition of
 * the flags, their help text and their parsing. Names carry the method they belong to, so none means two
 * things (`--hybrid-alpha` is Hybrid's blend; explain's overlay opacity is another flag).
 */
export const METHOD_OPTION_FLAGS = {
  'rise-masks': { type: 'string' },
  seed: { type: 'string' },
  'smoothgrad-samples': { type: 'string' },
  'smoothgrad-sigma': { type: 'string' },
  'smoothgrad-sigma-scale': { type: 'string' },
  'ig-steps': { type: 'string' },
  'ig-baseline': { type: 'string' },
  'ig-rule': { type: 'string' },
  'hybrid-alpha': { type: 'string' },
  'l2caf-mode': { type: 'string' },
  neuron: { type: 'string' },
  'score-cam-batch': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const METHOD_OPTIONS_HELP = `Method options (each read only by its method; defaults in brackets):
  --rise-masks N               RISE: random masks [4000; fewer is faster and noisier]
  --seed N                     RISE masks, SmoothGrad noise and the random baseline [0]
  --smoothgrad-samples N       SmoothGrad: noisy copies per image [50]
  --smoothgrad-sigma S         SmoothGrad: noise standard deviation [0.15]
  --smoothgrad-sigma-scale relative|absolute
                               relative: S times the image's value range (the paper's) [relative];
                               absolute: S in normalised-input units
  --ig-steps N                 Integrated Gradients: points on the path [50]
  --ig-baseline zero|black|blur|NUMBER
                               the path's start: 0 in the normalised input (the dataset mean) [zero],
                               black pixels, the image blurred (Gaussian sigma 5), or a constant
  --ig-rule RULE               ${QUADRATURE_RULES.join(', ')} [riemann_right]
  --hybrid-alpha A             Hybrid Grad-LayerCAM: Grad-CAM's weight in [0, 1] (1 = Grad-CAM, 0 = LayerCAM) [0.7]
  --l2caf-mode oblivious|specific
                               L2-CAF loss: keep all logits, or the target's against the others [oblivious]
  --neuron LAYER[:C[:Y:X]]     guided-backprop and deconvnet: explain one unit of LAYER instead of a class
                               (channel C at row Y, column X; omitted parts: the strongest activation)
  --score-cam-batch N          Score-CAM: masked images per forward pass [64]
`;

type FlagValues = Partial<Record<keyof typeof METHOD_OPTION_FLAGS, string>>;

function number(
  values: FlagValues,
  flag: keyof typeof METHOD_OPTION_FLAGS,
  check: (v: number) => boolean,
  what: string,
): number | undefined {
  const text = values[flag];
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !check(v)) throw new UsageError(`--${flag} must be ${what}, got "${text}"`);
  return v;
}

const positiveInteger = (v: number) => Number.isInteger(v) && v >= 1;

/** Parses and checks the method flags (no model needed: call before loading anything). */
export function parseMethodOptions(values: FlagValues): MethodRunOptions {
  const opts: MethodRunOptions = {
    masks: number(values, 'rise-masks', positiveInteger, 'a positive integer'),
    seed: number(values, 'seed', (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff, 'an integer in [0, 2^32)'),
    samples: number(values, 'smoothgrad-samples', positiveInteger, 'a positive integer'),
    sigma: number(values, 'smoothgrad-sigma', (v) => v >= 0, 'a number >= 0'),
    steps: number(values, 'ig-steps', positiveInteger, 'a positive integer'),
    hybridAlpha: number(values, 'hybrid-alpha', (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    scoreCamBatch: number(values, 'score-cam-batch', positiveInteger, 'a positive integer'),
  };
  const scale = values['smoothgrad-sigma-scale'];
  if (scale !== undefined) {
    if (scale !== 'relative' && scale !== 'absolute')
      throw new UsageError(`--smoothgrad-sigma-scale must be relative or absolute, got "${scale}"`);
    opts.sigmaScale = scale;
  }
  const baseline = values['ig-baseline'];
  if (baseline !== undefined) opts.baseline = parseIgBaseline(baseline);
  const rule = values['ig-rule'];
  if (rule !== undefined) {
    try {
      opts.rule = parseQuadratureRule(rule);
    } catch (err) {
      throw new UsageError(`--ig-rule: ${(err as Error).message}`);
    }
    if (opts.rule === 'riemann_trapezoid' && opts.steps === 1)
      throw new UsageError('--ig-rule riemann_trapezoid needs --ig-steps 2 or more');
  }
  const mode = values['l2caf-mode'];
  if (mode !== undefined) {
    if (mode !== 'oblivious' && mode !== 'specific') throw new UsageError(`--l2caf-mode must be oblivious or specific, got "${mode}"`);
    opts.l2cafMode = mode;
  }
  if (values.neuron !== undefined) opts.neuron = parseNeuron(values.neuron);
  for (const k of Object.keys(opts) as (keyof MethodRunOptions)[]) if (opts[k] === undefined) delete opts[k];
  return opts;
}

function parseIgBaseline(text: string): IntegratedGradientsBaseline {
  if (text === 'zero') return 0;
  if (text === 'black' || text === 'blur') return text;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--ig-baseline must be zero, black, blur or a number, got "${text}"`);
  return v;
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
