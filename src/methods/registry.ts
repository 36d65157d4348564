import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { centreGaussianMap, edgeMap, randomMap } from './baselines.js';
import { cam, findCamHead } from './cam.js';
import { gradCamPlusPlus, hiResCam, xGradCam } from './cam-variants.js';
import type { Attribution, MethodOptions } from './common.js';
import { gradCam } from './grad-cam.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { deconvnet, guidedBackprop, type NeuronTarget } from './guided-backprop.js';
import { hybridGradLayerCam } from './hybrid.js';
import { integratedGradients, type IntegratedGradientsBaseline } from './integrated-gradients.js';
import { l2caf } from './l2caf.js';
import { layerCam } from './layer-cam.js';
import type { QuadratureRule } from './quadrature.js';
import { rise } from './rise.js';
import { saliency } from './saliency.js';
import { scoreCam } from './score-cam.js';
import { smoothGrad } from './smooth-grad.js';

/**
 * Options any method accepts; each method reads only its own (named for the method, so none means two
 * things). Unset options take each method's documented default.
 */
export interface MethodRunOptions extends MethodOptions {
  /** RISE: masks; seed also seeds SmoothGrad's noise and the random baseline. */
  masks?: number;
  seed?: number;
  /** SmoothGrad: samples, sigma and whether sigma is relative to the image's value range. */
  samples?: number;
  sigma?: number;
  sigmaScale?: 'relative' | 'absolute';
  /** Integrated Gradients: path points, baseline and quadrature rule. */
  steps?: number;
  baseline?: IntegratedGradientsBaseline;
  rule?: QuadratureRule;
  /** Hybrid Grad-LayerCAM: weight of Grad-CAM in [0, 1]. */
  hybridAlpha?: number;
  /** L2-CAF: class-oblivious or class-specific loss. */
  l2cafMode?: 'oblivious' | 'specific';
  /** Guided backprop and DeconvNet: explain one unit of a layer instead of a class logit. */
  neuron?: NeuronTarget;
  /** Score-CAM: masked images per forward pass. */
  scoreCamBatch?: number;
  onProgress?: (done: number, total: number) => void;
}

/** One attribution method in the registry: its name, title, whether it reads a layer, how to run it and which models it applies to. */
export interface MethodEntry {
  name: string;
  title: string;
  /** Uses a layer (the CAM family). */
  usesLayer: boolean;
  run(model: Model, x: Tensor, opts: MethodRunOptions): Promise<Attribution>;
  /** Whether it applies to this model (CAM needs a GAP + FC head). */
  supports?(model: Model): boolean;
}

const base = (o: MethodRunOptions): MethodOptions => ({ target: o.target, layer: o.layer });

/** Every attribution method `explain` and the CLI can run by name, in the order reports show them. */
export const METHODS: MethodEntry[] = [
  { name: 'saliency', title: 'Vanilla saliency', usesLayer: false, run: (m, x, o) => saliency(m, x, base(o)) },
  { name: 'deconvnet', title: 'DeconvNet', usesLayer: false, run: (m, x, o) => deconvnet(m, x, { ...base(o), neuron: o.neuron }) },
  {
    name: 'guided-backprop',
    title: 'Guided backprop',
    usesLayer: false,
    run: (m, x, o) => guidedBackprop(m, x, { ...base(o), neuron: o.neuron }),
  },
  {
    name: 'cam',
    title: 'CAM',
    usesLayer: false,
    run: (m, x, o) => cam(m, x, { target: o.target }),
    supports: (m) => findCamHead(m) !== null,
  },
  { name: 'grad-cam', title: 'Grad-CAM', usesLayer: true, run: (m, x, o) => gradCam(m, x, base(o)) },
  { name: 'guided-grad-cam', title: 'Guided Grad-CAM', usesLayer: true, run: (m, x, o) => guidedGradCam(m, x, base(o)) },
  { name: 'layer-cam', title: 'LayerCAM', usesLayer: true, run: (m, x, o) => layerCam(m, x, base(o)) },
  {
    name: 'hybrid',
    title: 'Hybrid Grad-LayerCAM',
    usesLayer: true,
    run: (m, x, o) => hybridGradLayerCam(m, x, { ...base(o), alpha: o.hybridAlpha }),
  },
  { name: 'grad-cam++', title: 'Grad-CAM++', usesLayer: true, run: (m, x, o) => gradCamPlusPlus(m, x, base(o)) },
  { name: 'xgrad-cam', title: 'XGrad-CAM', usesLayer: true, run: (m, x, o) => xGradCam(m, x, base(o)) },
  { name: 'hires-cam', title: 'HiResCAM', usesLayer: true, run: (m, x, o) => hiResCam(m, x, base(o)) },
  {
    name: 'score-cam',
    title: 'Score-CAM',
    usesLayer: true,
    run: (m, x, o) => scoreCam(m, x, { ...base(o), batchSize: o.scoreCamBatch, onProgress: o.onProgress }),
  },
  {
    name: 'smoothgrad',
    title: 'SmoothGrad',
    usesLayer: false,
    run: (m, x, o) =>
      smoothGrad(m, x, {
        ...base(o),
        samples: o.samples,
        sigma: o.sigma,
        sigmaScale: o.sigmaScale,
        seed: o.seed,
        onProgress: o.onProgress,
      }),
  },
  {
    name: 'integrated-gradients',
    title: 'Integrated Gradients',
    usesLayer: false,
    run: (m, x, o) =>
      integratedGradients(m, x, { ...base(o), steps: o.steps, baseline: o.baseline, rule: o.rule, onProgress: o.onProgress }),
  },
  {
    name: 'rise',
    title: 'RISE',
    usesLayer: false,
    run: (m, x, o) => rise(m, x, { target: o.target, masks: o.masks, seed: o.seed, onProgress: o.onProgress }),
  },
  { name: 'l2caf', title: 'L2-CAF', usesLayer: true, run: (m, x, o) => l2caf(m, x, { ...base(o), mode: o.l2cafMode }) },
];

/**
 * Model-independent maps (methods/baselines.ts): named like methods so `evaluate` and `sanity` take them
 * beside real ones, but never part of `all`.
 */
export const BASELINES: MethodEntry[] = [
  {
    name: 'random',
    title: 'Random map (baseline)',
    usesLayer: false,
    run: (m, x, o) => randomMap(m, x, { target: o.target, seed: o.seed }),
  },
  {
    name: 'centre-gaussian',
    title: 'Centre Gaussian (baseline)',
    usesLayer: false,
    run: (m, x, o) => centreGaussianMap(m, x, { target: o.target }),
  },
  { name: 'edge', title: 'Sobel edges (ignores the model)', usesLayer: false, run: (m, x, o) => edgeMap(m, x, { target: o.target }) },
];

/** The registry entry of a method name; an unknown name raises an error listing the valid ones. */
export function findMethod(name: string): MethodEntry {
  const m = METHODS.find((x) => x.name === name) ?? BASELINES.find((x) => x.name === name);
  if (!m)
    throw new KernelInputError(
      `unknown method "${name}"; valid methods: ${METHODS.map((x) => x.name).join(', ')}, all; baselines: ${BASELINES.map((x) => x.name).join(', ')}`,
    );
  return m;
}
