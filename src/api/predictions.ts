import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { softmax } from '../kernels/softmax.js';

/** One class of a top-k list. */
export interface Prediction {
  /** Class index (row of the classifier). */
  index: number;
  /** Class name from the weights' metadata, else `class <index>`. */
  label: string;
  /** Softmax probability in [0, 1]. */
  prob: number;
}

/** The k most probable classes of every image of a normalised batch x: (N, 3, H, W), most probable first. */
export async function topPredictions(model: Model, x: Tensor, k: number): Promise<Prediction[][]> {
  const e = model.engine;
  const trace = model.forward(x, { forBackward: false });
  const probsT = softmax(e, trace.logits);
  const probs = await probsT.readF32();
  e.release(probsT);
  trace.release();
  const classes = model.numClasses;
  return Array.from({ length: x.shape[0] }, (_, n) => {
    const row = Array.from(probs.subarray(n * classes, (n + 1) * classes), (prob: number, index: number) => ({
      prob,
      index,
      label: model.info.classes[index],
    }));
    return row.sort((a, b) => b.prob - a.prob).slice(0, k);
  });
}
