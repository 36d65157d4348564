/** Reading a model's class outputs: shared by the methods and the metrics. */
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from './model.js';

/** Index of the largest value in row `row` of a (rows, width) row-major array; the first wins a tie. */
export function argmaxRow(values: Float32Array, row: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (values[row * width + j] > values[row * width + best]) best = j;
  return best;
}

/** A (classes, 1) one-hot column: logits (N, classes) times it is the target class's score (N, 1). */
export function classSelector(model: Model, target: number): Tensor {
  const column = new Float32Array(model.numClasses);
  column[target] = 1;
  return model.engine.upload(column, [model.numClasses, 1], 'class.selector');
}
