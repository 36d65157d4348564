import type { Engine } from '../gpu/engine.js';
import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Trace } from '../graph/executor.js';
import type { Model } from '../graph/model.js';
import { assertImagesFit } from '../graph/pass-size.js';
import { argmaxRow } from '../graph/outputs.js';
import { binary, unary } from '../kernels/elementwise.js';
import { minmaxNormalize, reduce } from '../kernels/reduce.js';
import { bilinearResize } from '../kernels/resize.js';
import { scoped } from '../gpu/scopes.js';

/** Which class to explain: one index for every image, one per image, or each image's top-1 class. */
export type Target = number | readonly number[] | 'top1';

/** Options every attribution method takes: the class to explain and, for CAM-family methods, the layer. */
export interface MethodOptions {
  target?: Target;
  /** Layer for CAM-family methods; the model's last conv stage by default. */
  layer?: string;
}

/**
 * A batch of attribution maps on the GPU, owned by the caller.
 * `heatmap`: (N, 1, H, W) in [0, 1]; `signed`: (N, 3, H, W) raw input-space gradients (rendered as RGB).
 */
export interface Attribution {
  method: string;
  kind: 'heatmap' | 'signed';
  maps: Tensor;
  targets: number[];
  layer?: string;
}

export function releaseAttribution(e: Engine, a: Attribution): void {
  e.release(a.maps);
}

export function assertImageBatch(model: Model, x: Tensor): void {
  const [h, w] = model.info.inputSize;
  if (x.rank !== 4 || x.shape[1] !== 3) {
    throw new KernelInputError(`expected a normalised image batch (N, 3, H, W), got [${x.shape.join(', ')}]`);
  }
  if (model.arch.fixedInputSize && (x.shape[2] !== h || x.shape[3] !== w)) {
    throw new KernelInputError(
      `${model.info.architecture} takes ${h}x${w} images (its classifier has a fixed input size), got ${x.shape[2]}x${x.shape[3]}`,
    );
  }
  assertImagesFit(model, x);
}

/** Resolves the target of each image; 'top1' reads the logits of a trace that has already run. */
export async function resolveTargets(model: Model, trace: Trace, target: Target | undefined): Promise<number[]> {
  const n = trace.logits.shape[0];
  const top1 = target === undefined || target === 'top1';
  return targetsFromLogits(model, top1 ? await trace.logits.readF32() : null, n, target);
}

/**
 * The same from logits already on the host (N x classes; only read for 'top1'), for callers that
 * need the logits themselves anyway.
 */
export function targetsFromLogits(model: Model, logits: Float32Array | null, n: number, target: Target | undefined): number[] {
  const classes = model.numClasses;
  const check = (t: number) => {
    if (!Number.isInteger(t) || t < 0 || t >= classes) {
      throw new KernelInputError(`target class ${t} is out of range: ${model.info.architecture} has classes 0..${classes - 1}`);
    }
    return t;
  };
  if (target === undefined || target === 'top1') {
    if (!logits) throw new Error('targetsFromLogits: top-1 targets need the logits');
    return Array.from({ length: n }, (_, i) => argmaxRow(logits, i, classes));
  }
  if (typeof target === 'number') return Array(n).fill(check(target));
  if (!Array.isArray(target))
    throw new KernelInputError(`target must be 'top1', a class index or one class index per image, got ${JSON.stringify(target)}`);
  if (target.length !== n) throw new KernelInputError(`${target.length} targets given for a batch of ${n} images`);
  return target.map(check);
}

/** dObjective/dlogits for the objective sum_n y[n, target_n]. */
export const oneHotSeed = scoped(function oneHotSeed(e: Engine, targets: readonly number[], classes: number): Tensor {
  const seed = new Float32Array(targets.length * classes);
  targets.forEach((t, n) => (seed[n * classes + t] = 1));
  return e.upload(seed, [targets.length, classes], 'seed.onehot');
});

/**
 * The activation A at `layer` and the gradient g = dy_c/dA, from one forward and one backward pass that
 * stops at the layer. Both (N, K, h, w); owned by the caller.
 */
export const activationAndGradient = scoped(async function activationAndGradient(
  model: Model,
  x: Tensor,
  layer: string,
  target: Target | undefined,
): Promise<{ A: Tensor; g: Tensor; targets: number[] }> {
  const e = model.engine;
  model.assertLayer(layer);
  const trace = model.forward(x, { keep: [layer] });
  try {
    const targets = await resolveTargets(model, trace, target);
    const seed = oneHotSeed(e, targets, model.numClasses);
    const back = model.backward(trace, { grad: seed }, { gradsAt: [layer], toInput: false });
    e.release(seed);
    const g = back.grads.get(layer)!;
    const A = e.clone(trace.activation(layer), `${layer}.activation`);
    if (A.rank !== 4) {
      e.releaseAll(A, g);
      throw new KernelInputError(`layer "${layer}" has shape [${A.shape.join(', ')}]; CAM methods need a spatial (N, C, H, W) layer`);
    }
    return { A, g, targets };
  } finally {
    trace.release();
  }
});

/** sum_k w[n, k] * A[n, k, i, j] -> (N, 1, h, w); w is (N, K, 1, 1) or (N, K, h, w). */
export const weightedChannelSum = scoped(function weightedChannelSum(e: Engine, w: Tensor, A: Tensor): Tensor {
  const prod = binary(e, 'mul', A, w);
  const sum = reduce(e, 'sum', prod, [1], true);
  e.release(prod);
  return sum;
});

/**
 * The CAM family's last steps, the one normalisation convention of every heatmap (pytorch-grad-cam's):
 * ReLU, bilinear upsampling to the input size, then min-max per image, so each map spans [0, 1].
 */
export const finishCam = scoped(function finishCam(
  e: Engine,
  cam: Tensor,
  size: [number, number],
  { relu = true }: { relu?: boolean } = {},
): Tensor {
  const positive = relu ? unary(e, 'relu', cam) : e.clone(cam);
  const up = bilinearResize(e, positive, size);
  const norm = minmaxNormalize(e, up, [1, 2, 3]);
  e.releaseAll(positive, up);
  return norm;
});

export function inputSize(x: Tensor): [number, number] {
  return [x.shape[2], x.shape[3]];
}
