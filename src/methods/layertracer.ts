import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Trace } from '../graph/executor.js';
import type { Model } from '../graph/model.js';
import { classSelector } from '../graph/outputs.js';
import { addInPlace, affine, binary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { softmax } from '../kernels/softmax.js';
import { assertMeansFitModel, type ClassMeans } from '../e2cm/class-means.js';
import { classConfidences, classDistances, uploadMeans, type GpuMeans } from '../e2cm/distances.js';
import { exitFeature } from '../e2cm/features.js';
import { assertImageBatch, resolveTargets, type Target } from './common.js';
import { forEachMaskBatch, riseSettings, type RiseOptions } from './rise.js';
import { scoped } from '../gpu/scopes.js';

/** LayerTracer's maps, one per exit and one for the output, with each image's E2CM exit; owned by the caller (`release()`). */
export interface LayerTracerResult {
  /** Exit layers, in network order, then `output` (RISE on the final classifier's softmax). */
  layers: string[];
  /** Per layer: (N, 1, H, W) saliency S_l = 1/(N_masks p) sum_i s_{l,i} M_i. */
  maps: Map<string, Tensor>;
  targets: number[];
  /** Per image: the first exit whose E2CM confidence passes the threshold, or null (final classifier). */
  exitLayer: (string | null)[];
  /** Per image, per exit: E2CM confidence of the clean image. */
  confidence: number[][];
  release(): void;
}

/** Options of {@link layerTracer}: RISE's options plus the E2CM exit threshold and the target. */
export interface LayerTracerOptions extends RiseOptions {
  /** Exit threshold on the E2CM confidence (default 0.9), for the exit marker. */
  threshold?: number;
  target?: Target;
}

/**
 * LayerTracer: RISE masks, one forward pass per masked image that yields every exit's feature; at each
 * exit the mask's score is the class-mean confidence of the target class there; one map per exit from
 * the same masks (plus the classifier output as the last "layer").
 */
export const layerTracer = scoped(async function layerTracer(
  model: Model,
  x: Tensor,
  means: ClassMeans,
  opts: LayerTracerOptions = {},
): Promise<LayerTracerResult> {
  assertImageBatch(model, x);
  assertMeansFitModel(means, model);
  const e = model.engine;
  const settings = riseSettings(opts);
  const threshold = opts.threshold ?? 0.9;
  if (!(threshold >= 0)) throw new KernelInputError(`layertracer threshold must be >= 0, got ${threshold}`);
  const exits = means.exits;
  const K = model.numClasses;
  const gpu: GpuMeans[] = exits.map((l) => uploadMeans(e, means.means.get(l)!, K, means.dims.get(l)!, l));
  const [n, c, h, w] = x.shape;
  const layers = [...exits, 'output'];
  const maps = new Map(layers.map((l) => [l, e.empty([n, 1, h, w], 'f32', `layertracer.${l}`)] as const));
  try {
    // The clean pass: targets, and where E2CM would exit.
    const clean = model.forward(x, { keep: exits, forBackward: false });
    const targets = await resolveTargets(model, clean, opts.target);
    const confidence: number[][] = Array.from({ length: n }, () => []);
    for (const [j, layer] of exits.entries()) {
      const conf = await confidencesAt(model, clean, layer, means, gpu[j]).readF32AndRelease();
      for (let i = 0; i < n; i++) confidence[i].push(Math.max(...conf.subarray(i * K, (i + 1) * K)));
    }
    clean.release();
    const exitLayer = confidence.map((cs) => {
      const j = cs.findIndex((v) => v > threshold);
      return j >= 0 ? exits[j] : null;
    });

    for (let i = 0; i < n; i++) {
      const image = e.empty([1, c, h, w], 'f32', 'layertracer.image');
      e.copy(x, i * c * h * w, image, 0, c * h * w);
      const selector = classSelector(model, targets[i]);
      const sums = layers.map(() => e.zeros([1, h * w], 'f32', 'layertracer.sum'));
      await forEachMaskBatch(
        model,
        settings,
        [h, w],
        async (masks, count) => {
          const masked = binary(e, 'mul', masks, image);
          const trace = model.forward(masked, { keep: exits, forBackward: false });
          const flatMasks = masks.reshape([count, h * w]);
          for (const [j, layer] of layers.entries()) {
            const probs = layer === 'output' ? softmax(e, trace.logits) : confidencesAt(model, trace, layer, means, gpu[j]).tensor;
            const score = matmul(e, probs, selector);
            const contribution = matmul(e, score, flatMasks, { transposeA: true });
            addInPlace(e, sums[j], contribution);
            e.releaseAll(probs, score, contribution);
          }
          trace.release();
          e.release(masked);
        },
        (done) => opts.onProgress?.(i * settings.masks + done, n * settings.masks),
      );
      for (const [j, layer] of layers.entries()) {
        const scaled = affine(e, sums[j], 1 / (settings.masks * settings.p), 0);
        e.copy(scaled, 0, maps.get(layer)!, i * h * w, h * w);
        e.releaseAll(scaled, sums[j]);
      }
      e.releaseAll(image, selector);
    }
    return {
      layers,
      maps,
      targets,
      exitLayer,
      confidence,
      release: () => {
        for (const t of maps.values()) e.release(t);
      },
    };
  } catch (err) {
    for (const t of maps.values()) e.release(t);
    throw err;
  } finally {
    for (const g of gpu) e.releaseAll(g.means, g.normsSq);
  }
});

function confidencesAt(model: Model, trace: Trace, layer: string, means: ClassMeans, gpu: GpuMeans) {
  const e = model.engine;
  const f = exitFeature(e, trace, layer, means.mode);
  const d = classDistances(e, f, gpu);
  const tensor = classConfidences(e, d, means.temperatures.get(layer)!);
  e.releaseAll(f, d);
  return {
    tensor,
    async readF32AndRelease() {
      const v = await tensor.readF32();
      e.release(tensor);
      return v;
    },
  };
}
