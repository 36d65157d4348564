/**
 * Running the library for the page: one method, every method (the grid), or LayerTracer (the strip),
 * each with progress reported as it goes (RISE and LayerTracer from their first batch of masks). Only
 * the public API: explain() gives the map, the top-5 and the picture the model saw.
 */
import {
  explain,
  inputBatch,
  layerTracer,
  METHODS,
  preprocessForModel,
  riseMasksForBudget,
  type Explanation,
  type MethodEntry,
  type RgbImage,
} from '../src/browser.js';
import type { StripTile } from './render.js';
import type { LoadedModel, PageImage } from './state.js';

/** What the user chose in the controls. */
export interface RunChoice {
  method: MethodEntry;
  layer: string;
  target: 'top1' | number;
  /** RISE / LayerTracer masks, or auto: what fits AUTO_MASK_SECONDS here. */
  masks: number | 'auto';
}

/** Seconds of RISE per image the page aims at when the masks field is left empty. */
export const AUTO_MASK_SECONDS = 8;

/** The mask count to use: the user's, or measured once per model (a probe of a few forward passes). */
export async function masksFor(loaded: LoadedModel, choice: Pick<RunChoice, 'masks'>): Promise<number> {
  if (choice.masks !== 'auto') return choice.masks;
  loaded.autoMasks ??= (await riseMasksForBudget(loaded.model, { seconds: AUTO_MASK_SECONDS, min: 64, max: 4000 })).masks;
  return loaded.autoMasks;
}

/** done/total of the running job, with a note such as "RISE: 320 / 1000 masks". */
export type ProgressReport = (done: number, total: number, note: string) => void;

export interface TimedExplanation {
  result: Explanation;
  ms: number;
}

export async function runMethod(
  loaded: LoadedModel,
  image: PageImage,
  choice: RunChoice,
  report: ProgressReport,
): Promise<TimedExplanation> {
  const { method } = choice;
  const masks = method.name === 'rise' ? await masksFor(loaded, choice) : undefined;
  const unit =
    method.name === 'rise' ? 'masks' : method.name === 'l2caf' ? 'steps (at most)' : method.name === 'smoothgrad' ? 'samples' : 'steps';
  // Say what runs before the first batch comes back: the first one also compiles the GPU kernels.
  if (masks !== undefined) report(0, masks, `${method.title}: 0 / ${masks} masks`);
  else report(0, 1, `${method.title}…`);
  const t0 = performance.now();
  const result = await explain(loaded.model, image.rgb, {
    method: method.name,
    layer: method.usesLayer ? choice.layer : undefined,
    target: choice.target,
    masks,
    onProgress: (done, total) => report(done, total, `${method.title}: ${done} / ${total} ${unit}`),
  });
  return { result, ms: performance.now() - t0 };
}

/** Every method that applies to the model, one after the other; `each` receives each result as it comes. */
export async function runAllMethods(
  loaded: LoadedModel,
  image: PageImage,
  choice: Omit<RunChoice, 'method'>,
  report: ProgressReport,
  each: (method: MethodEntry, timed: TimedExplanation) => void,
): Promise<number> {
  const methods = METHODS.filter((m) => !m.supports || m.supports(loaded.model));
  for (const [k, method] of methods.entries()) {
    const timed = await runMethod(loaded, image, { ...choice, method }, (done, total, note) =>
      report(k + (total > 0 ? done / total : 0), methods.length, `${k + 1} / ${methods.length} · ${note}`),
    );
    each(method, timed);
  }
  report(methods.length, methods.length, '');
  return methods.length;
}

export interface StripResult {
  masks: number;
  /** The picture the model saw. */
  input: RgbImage;
  tiles: StripTile[];
  exitLayer: string | null;
  targetLabel: string;
  ms: number;
}

/** LayerTracer on one image: one map per E2CM exit (and the classifier), from the same masks. */
export async function runLayerTracer(
  loaded: LoadedModel,
  image: PageImage,
  choice: Omit<RunChoice, 'method' | 'layer'>,
  report: ProgressReport,
): Promise<StripResult> {
  const { model, means } = loaded;
  if (!means)
    throw new Error(`${model.info.architecture} has no class means: LayerTracer needs them (make them with \`layertracer class-means\`)`);
  const masks = await masksFor(loaded, choice);
  report(0, masks, `LayerTracer: 0 / ${masks} masks`);
  const t0 = performance.now();
  const x = inputBatch(model, image.rgb);
  try {
    const traced = await layerTracer(model, x, means, {
      masks,
      target: choice.target === 'top1' ? 'top1' : choice.target,
      onProgress: (done, total) => report(done, total, `LayerTracer: ${done} / ${total} masks`),
    });
    try {
      const [, , h, w] = x.shape;
      const tiles: StripTile[] = [];
      for (const [j, layer] of traced.layers.entries()) {
        tiles.push({
          layer,
          map: await traced.maps.get(layer)!.readF32(),
          width: w,
          height: h,
          confidence: layer === 'output' ? undefined : traced.confidence[0][j],
          isExit: layer === traced.exitLayer[0],
        });
      }
      const t = traced.targets[0];
      const { inputSize, mean, std, resize } = model.info;
      const input = preprocessForModel(image.rgb, { inputSize, mean, std, resize }).image;
      return {
        masks,
        input,
        tiles,
        exitLayer: traced.exitLayer[0],
        targetLabel: model.info.classes[t] ?? String(t),
        ms: performance.now() - t0,
      };
    } finally {
      traced.release();
    }
  } finally {
    x.release();
  }
}
