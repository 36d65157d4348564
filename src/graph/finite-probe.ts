/**
 * Finite weights can still overflow float32 (weights scaled by 1e30 give 1e60 after two layers), and a
 * ReLU or max-pool after the overflow can hide the NaN: the logits come out finite and wrong. So a loaded
 * model runs once on a fixed test input and every layer's activation is checked on the GPU: x*0 is 0 for
 * a finite x and NaN otherwise, so the sum of x*0 over a layer is NaN exactly when the layer holds a NaN
 * or an infinity. One small readback for the whole network.
 */
import { scoped } from '../gpu/scopes.js';
import type { Tensor } from '../gpu/tensor.js';
import { WeightsError } from './weights.js';
import type { Model } from './model.js';
import { add, affine } from '../kernels/elementwise.js';
import { reduce } from '../kernels/reduce.js';

export const assertFiniteActivations = scoped(async function assertFiniteActivations(model: Model): Promise<void> {
  const e = model.engine;
  const [h, w] = model.info.inputSize;
  // A deterministic, image-like normalised input in about [-2, 2].
  const x = e.upload(
    Float32Array.from({ length: 3 * h * w }, (_, i) => 2 * Math.sin(i * 0.7071 + (i % 7))),
    [1, 3, h, w],
    'finite-probe.input',
  );
  const layers = model.layerNames();
  const trace = model.forward(x, { keep: layers, forBackward: false });
  const sums: Tensor[] = layers.map((l) => {
    const a = trace.activation(l);
    return reduce(e, 'sum', affine(e, a, 0, 0), [...a.shape.keys()], false);
  });
  let total = sums[0];
  for (const s of sums.slice(1)) total = add(e, total, s);
  if (Number.isFinite((await total.readF32())[0])) return;
  for (const [i, s] of sums.entries()) {
    if (!Number.isFinite((await s.readF32())[0])) {
      throw new WeightsError(
        `${model.info.source}: the model overflows float32 at layer ${layers[i]} on a test input (NaN or infinite activations) although ` +
          'its weights are finite: they are far too large. Every output would be meaningless; check how the weights were exported and scaled ' +
          '(--allow-non-finite, or allowNonFinite: true in loadModel, skips this check).',
      );
    }
  }
});

/**
 * `model` once it passed the probe; on a failure it is released before the error goes up. The one
 * load-time gate for the CLI and the library's `loadModel` (`allowNonFinite` skips it).
 */
export async function probedModel(model: Model, allowNonFinite = false): Promise<Model> {
  if (allowNonFinite) return model;
  try {
    await assertFiniteActivations(model);
  } catch (err) {
    model.release();
    throw err;
  }
  return model;
}
