/**
 * The high-level API's core, the same in Node and browsers: pictures in, maps, top-k predictions and
 * overlays out. Everything GPU-side (the input batch, the maps) is released before it returns, so the
 * caller owns only the model.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { imagesPerPassFor } from '../graph/pass-size.js';
import type { ColormapName } from '../image/colormap.js';
import { assertRgbImage, type RgbImage } from '../image/image.js';
import { gradientToImage, overlayHeatmap } from '../image/overlay.js';
import { preprocessForModel, type ModelInput } from '../image/preprocess.js';
import { resizeImage } from '../image/resize.js';
import { findMethod, type MethodEntry, type MethodRunOptions } from '../methods/registry.js';
import { stretchToUnit } from '../util/stretch.js';
import { topPredictions, type Prediction } from './predictions.js';
import { resolveClassChoice, type ClassChoice } from './target.js';

/** Options of {@link predict}. */
export interface PredictOptions {
  /** How many classes to list, most probable first. Default 5 (fewer when the model has fewer classes). */
  topK?: number;
}

/**
 * Options of {@link explain}. Method-specific settings (RISE `masks`, SmoothGrad `samples`, Integrated
 * Gradients `steps`, `seed`, `onProgress`) pass through to the method unchanged.
 */
export interface ExplainOptions extends Omit<MethodRunOptions, 'target' | 'layer'>, PredictOptions {
  /** A method name from `METHODS` (`grad-cam`, `saliency`, `rise`, ...). Default `grad-cam`. */
  method?: string;
  /** Layer of CAM-family methods (PyTorch module name, e.g. `layer4`, `features.29`); default: the model's last conv stage. */
  layer?: string;
  /** The class to explain: `'top1'` (default), a class index or a class name. */
  target?: ClassChoice;
  /** Colormap of heatmap overlays. Default `jet`. */
  colormap?: ColormapName;
  /** Weight of the heatmap in the overlay, 0 (image only) to 1 (colormap only). Default 0.5. */
  alpha?: number;
  /** Longer side of the overlay in pixels. Default: the model's input size (the picture it saw). */
  overlaySize?: number;
}

/** What {@link explain} returns for one image. Plain host data: nothing in it needs releasing. */
export interface Explanation {
  /** The method's name, as in `METHODS`. */
  method: string;
  /** `heatmap`: `map` is one channel of importance in [0, 1]; `signed`: three channels of input gradient. */
  kind: 'heatmap' | 'signed';
  /** The explained class index. */
  target: number;
  /** The explained class's name. */
  targetLabel: string;
  /** The layer a CAM-family method read; absent for input-space methods. */
  layer?: string;
  /** The attribution map, row-major (channels, height, width), at the model's input size. */
  map: Float32Array;
  /** `[channels, height, width]` of `map`: channels is 1 for heatmaps, 3 for signed maps. */
  shape: [channels: number, height: number, width: number];
  /** The model's top-k classes for this image, most probable first. */
  predictions: Prediction[];
  /** The picture the model saw (resized and cropped as its metadata says). */
  input: RgbImage;
  /** The map to look at: a heatmap blended over `input`, or a signed map rendered as RGB (grey = 0). */
  overlay: RgbImage;
}

const DEFAULT_METHOD = 'grad-cam';
const DEFAULT_TOP_K = 5;

/**
 * Explains a model's decision on one image (or several, in as few batches as the adapter allows):
 * runs the method, the top-k predictions and renders the overlay.
 *
 * ```ts
 * const result = await explain(model, image, { method: 'grad-cam', target: 'top1' });
 * ```
 */
export function explain(model: Model, image: RgbImage, options?: ExplainOptions): Promise<Explanation>;
export function explain(model: Model, images: readonly RgbImage[], options?: ExplainOptions): Promise<Explanation[]>;
export async function explain(
  model: Model,
  image: RgbImage | readonly RgbImage[],
  options: ExplainOptions = {},
): Promise<Explanation | Explanation[]> {
  const images = asList(image);
  // Every option is checked before anything reaches the GPU.
  const plan = explainPlan(model, options);
  const topK = checkTopK(model, options.topK);
  const prepared = images.map((img, i) => prepare(model, img, images.length > 1 ? `image ${i}` : 'image'));
  const results = await withInputBatch(model, prepared, async (x, batch) => {
    const predictions = await topPredictions(model, x, topK);
    const { method: _m, layer: _l, target: _t, topK: _k, colormap: _c, alpha: _a, overlaySize: _s, ...methodOptions } = options;
    const attribution = await plan.method.run(model, x, { ...methodOptions, target: plan.target, layer: plan.layer });
    try {
      const maps = await attribution.maps.readF32();
      const [, c, h, w] = attribution.maps.shape;
      return batch.map((p, i): Explanation => {
        const map = maps.slice(i * c * h * w, (i + 1) * c * h * w);
        const target = attribution.targets[i];
        return {
          method: plan.method.name,
          kind: attribution.kind,
          target,
          targetLabel: model.info.classes[target] ?? String(target),
          ...(attribution.layer === undefined ? {} : { layer: attribution.layer }),
          map,
          shape: [c, h, w],
          predictions: predictions[i],
          input: p.image,
          overlay: renderOverlay(attribution.kind, map, [c, h, w], p.image, options),
        };
      });
    } finally {
      model.engine.release(attribution.maps);
    }
  });
  return Array.isArray(image) ? results : results[0];
}

/** The model's top-k classes for one image (or several), without explaining them. */
export function predict(model: Model, image: RgbImage, options?: PredictOptions): Promise<Prediction[]>;
export function predict(model: Model, images: readonly RgbImage[], options?: PredictOptions): Promise<Prediction[][]>;
export async function predict(
  model: Model,
  image: RgbImage | readonly RgbImage[],
  options: PredictOptions = {},
): Promise<Prediction[] | Prediction[][]> {
  const images = asList(image);
  const topK = checkTopK(model, options.topK);
  const prepared = images.map((img, i) => prepare(model, img, images.length > 1 ? `image ${i}` : 'image'));
  const results = await withInputBatch(model, prepared, (x) => topPredictions(model, x, topK));
  return Array.isArray(image) ? results : results[0];
}

function asList(image: RgbImage | readonly RgbImage[]): readonly RgbImage[] {
  const images: readonly RgbImage[] = Array.isArray(image) ? image : [image as RgbImage];
  if (images.length === 0) throw new RangeError('no images given: pass an image (from readImage) or a non-empty array of them');
  return images;
}

function explainPlan(model: Model, options: ExplainOptions): { method: MethodEntry; layer?: string; target: number | 'top1' } {
  const method = findMethod(options.method ?? DEFAULT_METHOD);
  if (method.supports && !method.supports(model)) {
    throw new RangeError(
      `method ${method.name} does not apply to ${model.info.architecture}` +
        (method.name === 'cam' ? ': CAM needs a global-average-pool + linear head (use grad-cam)' : ''),
    );
  }
  if (options.layer !== undefined && !method.usesLayer) {
    throw new RangeError(`method ${method.name} does not use a layer; drop the layer option or pick a CAM-family method such as grad-cam`);
  }
  const layer = method.usesLayer ? (options.layer ?? model.defaultCamLayer) : undefined;
  if (layer !== undefined) model.assertLayer(layer);
  if (options.alpha !== undefined && !(options.alpha >= 0 && options.alpha <= 1)) {
    throw new RangeError(`alpha must be in [0, 1], got ${options.alpha}`);
  }
  if (options.overlaySize !== undefined && !(Number.isInteger(options.overlaySize) && options.overlaySize >= 1)) {
    throw new RangeError(`overlaySize must be a positive integer (pixels of the longer side), got ${options.overlaySize}`);
  }
  return { method, layer, target: resolveClassChoice(options.target, model.info.classes) };
}

function checkTopK(model: Model, topK: number | undefined): number {
  if (topK === undefined) return Math.min(DEFAULT_TOP_K, model.numClasses);
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  return Math.min(topK, model.numClasses);
}

function prepare(model: Model, img: RgbImage, what: string): ModelInput {
  if (!img || typeof img !== 'object' || !(img.data instanceof Uint8Array)) {
    throw new TypeError(`${what} is not an RgbImage ({ width, height, data: Uint8Array }); read pictures with readImage first`);
  }
  assertRgbImage(img, what);
  const { inputSize, mean, std, resize } = model.info;
  return preprocessForModel(img, { inputSize, mean, std, resize });
}

/**
 * Pictures as the model's input: each resized (and centre-cropped) and normalised as the model's
 * metadata says, uploaded as one (N, 3, H, W) tensor for the lower-level methods (`gradCam(model, x)`).
 * The caller releases it (`x.release()`, or `using x = inputBatch(...)`).
 */
export function inputBatch(model: Model, images: RgbImage | readonly RgbImage[]): Tensor {
  const list = asList(images);
  return uploadPrepared(
    model,
    list.map((img, i) => prepare(model, img, list.length > 1 ? `image ${i}` : 'image')),
  );
}

function uploadPrepared(model: Model, prepared: readonly ModelInput[]): Tensor {
  const [h, w] = model.info.inputSize;
  const per = 3 * h * w;
  const batch = new Float32Array(prepared.length * per);
  prepared.forEach((p, i) => batch.set(p.chw, i * per));
  return model.engine.upload(batch, [prepared.length, 3, h, w], 'images');
}

/**
 * Runs `use` on the prepared pictures as batches of as many as one pass can take on this adapter
 * (graph/pass-size.ts; all of them where they fit) and joins its per-image results in order.
 */
async function withInputBatch<T>(
  model: Model,
  prepared: readonly ModelInput[],
  use: (x: Tensor, batch: readonly ModelInput[]) => Promise<T[]>,
): Promise<T[]> {
  const [h, w] = model.info.inputSize;
  const perPass = imagesPerPassFor(model, [3, h, w], prepared.length);
  const results: T[] = [];
  for (let first = 0; first < prepared.length; first += perPass) {
    const batch = prepared.slice(first, first + perPass);
    const x = uploadPrepared(model, batch);
    try {
      results.push(...(await use(x, batch)));
    } finally {
      model.engine.release(x);
    }
  }
  return results;
}

/** Options of {@link renderExplanation}: how to draw an explanation again without recomputing it. */
export type RenderOptions = Pick<ExplainOptions, 'colormap' | 'alpha' | 'overlaySize'>;

/**
 * Draws an explanation's map again with other display settings (opacity, colormap, size), from the
 * map it already holds: a page's opacity slider needs no new run.
 */
export function renderExplanation(explanation: Explanation, options: RenderOptions = {}): RgbImage {
  if (options.alpha !== undefined && !(options.alpha >= 0 && options.alpha <= 1)) {
    throw new RangeError(`alpha must be in [0, 1], got ${options.alpha}`);
  }
  return renderOverlay(explanation.kind, explanation.map, explanation.shape, explanation.input, options);
}

function renderOverlay(
  kind: 'heatmap' | 'signed',
  map: Float32Array,
  [c, h, w]: [number, number, number],
  input: RgbImage,
  options: ExplainOptions,
): RgbImage {
  const size = options.overlaySize;
  const scale = size === undefined ? 1 : size / Math.max(input.width, input.height);
  const width = Math.max(1, Math.round(input.width * scale));
  const height = Math.max(1, Math.round(input.height * scale));
  if (kind === 'signed') {
    const picture = gradientToImage(map, c, h, w);
    return picture.width === width && picture.height === height ? picture : resizeImage(picture, width, height);
  }
  const base = width === input.width && height === input.height ? input : resizeImage(input, width, height);
  // RISE keeps its 1/(N p) scale (docs/design.md §2.9); the overlay reads [0, 1], so stretch for display only.
  return overlayHeatmap(base, stretchToUnit(map), w, h, { colormap: options.colormap ?? 'jet', alpha: options.alpha ?? 0.5 });
}
