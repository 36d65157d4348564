/**
 * How many RISE masks fit a time budget on this model, input size and adapter: RISE is N forward
 * passes of masked images, so its cost is N times one forward pass, which a probe measures here. The
 * paper's 4000 masks take seconds on a GPU and minutes on a software adapter; a fixed default is
 * either slow or wasteful somewhere, a budget is neither.
 */
import type { Model } from '../graph/model.js';
import { batchSizeOption, imagesPerPass } from '../graph/pass-size.js';

/** Options of {@link riseMasksForBudget}. */
export interface RiseBudgetOptions {
  /** Seconds of RISE per image. */
  seconds: number;
  /** Masked images per forward pass, as RISE will run them (default 64; fewer where they would not fit, as in RISE). */
  batchSize?: number;
  /** Bounds on the answer (default 100 and 4000: fewer masks give mostly noise, more add little). */
  min?: number;
  max?: number;
  /** The answer is a multiple of this (default 50), so runs on similar machines agree. */
  multiple?: number;
}

/** The answer of {@link riseMasksForBudget}. */
export interface RiseBudget {
  masks: number;
  /** Measured forward throughput, masked images per second. */
  masksPerSecond: number;
}

/**
 * The number of RISE masks per image that fits `seconds` on this model and adapter, measured with a
 * probe forward pass (a few batches at most), rounded down to a multiple and clamped to [min, max].
 */
export async function riseMasksForBudget(model: Model, opts: RiseBudgetOptions): Promise<RiseBudget> {
  const { seconds, min = 100, max = 4000, multiple = 50 } = opts;
  const batchSize = batchSizeOption('rise budget', opts.batchSize, 64);
  if (!(seconds > 0)) throw new RangeError(`RISE time budget must be positive seconds, got ${seconds}`);
  const [h, w] = model.info.inputSize;
  let batch = batchSize;
  const timeBatch = async (n: number): Promise<number> => {
    const x = model.engine.zeros([n, 3, h, w], 'f32', 'rise-budget.probe');
    try {
      const t0 = performance.now();
      const trace = model.forward(x, { forBackward: false });
      await trace.logits.readF32();
      const took = (performance.now() - t0) / 1000;
      batch = imagesPerPass(model.engine, trace, batchSize);
      trace.release();
      return took;
    } finally {
      model.engine.release(x);
    }
  };
  // One image first (it also compiles the pipelines); a full batch only when that is cheap, since
  // batches run more images per second than single passes.
  await timeBatch(1);
  const single = await timeBatch(1);
  let rate = 1 / Math.max(single, 1e-6);
  if (single * batch < 2) rate = batch / Math.max(await timeBatch(batch), 1e-6);
  const fit = Math.floor((rate * seconds) / multiple) * multiple;
  return { masks: Math.min(max, Math.max(min, fit)), masksPerSecond: rate };
}
