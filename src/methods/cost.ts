/**
 * Prior cost of each method per image, in units of one forward + backward pass of the model, for
 * progress estimates (util/eta.ts) before anything has been measured. Rough ratios from the
 * localisation benchmark's seconds per image; what matters is that a step of thousands of passes
 * (RISE, SmoothGrad, Integrated Gradients, L2-CAF) is never expected to take as long as a Grad-CAM.
 */
export interface CostSettings {
  /** RISE masks. */
  masks?: number;
  /** SmoothGrad samples. */
  samples?: number;
  /** Integrated Gradients steps. */
  steps?: number;
}

/** One forward pass of a masked batch costs about this share of a forward + backward pass per image. */
const FORWARD_SHARE = 0.3;

export function methodCost(name: string, settings: CostSettings = {}): number {
  switch (name) {
    case 'cam':
      return 0.5;
    case 'grad-cam':
    case 'layer-cam':
    case 'grad-cam++':
    case 'xgrad-cam':
    case 'hires-cam':
      return 0.6;
    case 'hybrid':
      // One forward and one backward pass feed both of its maps.
      return 0.7;
    case 'guided-grad-cam':
      return 1.5;
    case 'smoothgrad':
      return 0.8 * (settings.samples ?? 50);
    case 'integrated-gradients':
      return 0.8 * (settings.steps ?? 50);
    case 'rise':
      return FORWARD_SHARE * (settings.masks ?? 4000);
    case 'score-cam':
      // One masked forward pass per channel of the CAM layer (a few hundred at a last stage).
      return FORWARD_SHARE * 256;
    case 'random':
    case 'centre-gaussian':
    case 'edge':
      return 0.05;
    case 'l2caf':
      // Up to 1000 optimisation steps over the layers after the filter; most runs stop early.
      return 15;
    default:
      return 1;
  }
}

/**
 * Whether a method's onProgress(done, total) is a true share of its work. L2-CAF reports steps out of
 * its maximum and usually stops early, so its share would make the time left look far too long.
 */
export function reportsTrueProgress(name: string): boolean {
  return name !== 'l2caf';
}
