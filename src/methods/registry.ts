import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { cam, findCamHead } from './cam.js';
import { gradCamPlusPlus, hiResCam, xGradCam } from './cam-variants.js';
import type { Attribution, MethodOptions } from './common.js';
import { gradCam } from './grad-cam.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { deconvnet, guidedBackprop } from './guided-backprop.js';
import { hybridGradLayerCam } from './hybrid.js';
import { integratedGradients } from './integrated-gradients.js';
import { l2caf } from './l2caf.js';
import { layerCam } from './layer-cam.js';
import { rise } from './rise.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';

/** Options any method accepts; each reads the ones it knows (RISE: masks, seed; SmoothGrad: samples; IG: steps). */
export interface MethodRunOptions extends MethodOptions {
  masks?: number;
  seed?: number;
  samples?: number;
  steps?: number;
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

/** Every attribution method `explain` and the CLI can run by name, in the order reports show them. */
export const METHODS: MethodEntry[] = [
  { name: 'saliency', title: 'Vanilla saliency', usesLayer: false, run: saliency },
  { name: 'deconvnet', title: 'DeconvNet', usesLayer: false, run: deconvnet },
  { name: 'guided-backprop', title: 'Guided backprop', usesLayer: false, run: guidedBackprop },
  {
    name: 'cam',
    title: 'CAM',
    usesLayer: false,
    run: cam,
    supports: (m) => findCamHead(m) !== null,
  },
  { name: 'grad-cam', title: 'Grad-CAM', usesLayer: true, run: gradCam },
  { name: 'guided-grad-cam', title: 'Guided Grad-CAM', usesLayer: true, run: guidedGradCam },
  { name: 'layer-cam', title: 'LayerCAM', usesLayer: true, run: layerCam },
  { name: 'hybrid', title: 'Hybrid Grad-LayerCAM (alpha 0.7)', usesLayer: true, run: hybridGradLayerCam },
  { name: 'grad-cam++', title: 'Grad-CAM++', usesLayer: true, run: gradCamPlusPlus },
  { name: 'xgrad-cam', title: 'XGrad-CAM', usesLayer: true, run: xGradCam },
  { name: 'hires-cam', title: 'HiResCAM', usesLayer: true, run: hiResCam },
  { name: 'smoothgrad', title: 'SmoothGrad (50 samples)', usesLayer: false, run: smoothGrad },
  { name: 'integrated-gradients', title: 'Integrated Gradients (50 steps)', usesLayer: false, run: integratedGradients },
  { name: 'rise', title: 'RISE', usesLayer: false, run: rise },
  { name: 'l2caf', title: 'L2-CAF (class-oblivious)', usesLayer: true, run: (m, x, o) => l2caf(m, x, o) },
];

/** The registry entry of a method name; an unknown name raises an error listing the valid ones. */
export function findMethod(name: string): MethodEntry {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new KernelInputError(`unknown method "${name}"; valid methods: ${METHODS.map((x) => x.name).join(', ')}, all`);
  return m;
}
