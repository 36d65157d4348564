/**
 * How many images one pass over a model may take. A kernel binds each tensor whole, and an adapter
 * binds at most `Engine.maxBindingBytes` (128 MiB on lavapipe and by default in browsers), so the batch
 * of a pass is bounded by the largest tensor it makes per image: VGG-16's first activations at 224 x 224
 * are 12.25 MiB an image (10 images at most), ResNet-50's 3.06 MiB (41). The batched methods (RISE,
 * Score-CAM, SmoothGrad, Integrated Gradients, LayerTracer, insertion and deletion) and the commands that
 * stream datasets take their batch size as an upper bound and run what fits.
 */
import type { Engine } from '../gpu/engine.js';
import { formatBytes, KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Trace } from './executor.js';
import type { Model } from './model.js';
import { INPUT } from './graph.js';
import { opOf } from './ops/index.js';
import { perImage } from './ops/op.js';

/**
 * Bytes per image of the largest buffer a forward or backward pass over the trace's part of the graph
 * binds: an input or output of a node (a gradient has its value's shape) or an op's scratch buffer. The
 * trace may be of any batch size and input size the planned passes share.
 */
export function largestBindingPerImage(trace: Trace): number {
  const input = trace.shapes.get(INPUT);
  let most = input ? perImage(input) : 0;
  for (const node of trace.graph.nodes) {
    const out = trace.shapes.get(node.output);
    const inputs = node.inputs.map((v) => trace.shapes.get(v));
    if (!out || inputs.some((s) => !s)) continue; // not run by this pass
    const ins = inputs as (readonly number[])[];
    most = Math.max(most, perImage(out), ...ins.map(perImage), opOf(node).scratchPerImage?.(trace.engine, node, ins, out) ?? 0);
  }
  return most * 4;
}

/** A batch size option: `value`, or `fallback` where it is not given; anything but a positive integer is refused. */
export function batchSizeOption(method: string, value: number | undefined, fallback: number): number {
  const size = value ?? fallback;
  if (!Number.isInteger(size) || size < 1) throw new KernelInputError(`${method}: batchSize must be a positive integer, got ${size}`);
  return size;
}

/** At most `requested` images per pass, and no more than fit the engine's binding limit (at least 1). */
export function imagesPerPass(e: Engine, trace: Trace, requested: number): number {
  return fitting(e, largestBindingPerImage(trace), requested);
}

function fitting(e: Engine, bytesPerImage: number, requested: number): number {
  return Math.max(1, Math.min(requested, Math.floor(e.maxBindingBytes / bytesPerImage)));
}

const probed = new WeakMap<Model, Map<string, number>>();

/**
 * {@link largestBindingPerImage} before any pass has run, for loops that form batches from a dataset: the
 * sizes come from one forward pass of a blank image of `imageShape` (C, H, W), run once per model and
 * size. Gradients have their values' shapes, so the answer holds for forward + backward passes too.
 */
export function largestBindingPerImageFor(model: Model, imageShape: readonly number[]): number {
  const e = model.engine;
  const key = imageShape.join('x');
  let sizes = probed.get(model);
  if (!sizes) probed.set(model, (sizes = new Map()));
  let bytes = sizes.get(key);
  if (bytes === undefined) {
    const blank = e.zeros([1, ...imageShape], 'f32', 'pass-size.probe');
    try {
      const trace = model.forward(blank, { forBackward: false });
      bytes = largestBindingPerImage(trace);
      trace.release();
    } finally {
      e.release(blank);
    }
    sizes.set(key, bytes);
  }
  return bytes;
}

/** {@link imagesPerPass} for images of `imageShape` (C, H, W) before any pass has run (no probe for one image). */
export function imagesPerPassFor(model: Model, imageShape: readonly number[], requested: number): number {
  if (requested <= 1) return 1;
  return fitting(model.engine, largestBindingPerImageFor(model, imageShape), requested);
}

/**
 * Refuses a batch `x` (N, C, H, W) that one pass cannot take on this adapter, naming how many images
 * can, before anything runs (a single image is not checked: nothing smaller would fit either).
 */
export function assertImagesFit(model: Model, x: Tensor): void {
  const n = x.shape[0];
  if (n < 2) return;
  const e = model.engine;
  const bytes = largestBindingPerImageFor(model, x.shape.slice(1));
  const fit = fitting(e, bytes, n);
  if (fit < n) {
    throw new KernelInputError(
      `${n} images of ${x.shape.slice(1).join('x')} in one pass make a ${formatBytes(n * bytes)} tensor ` +
        `(${formatBytes(bytes)} an image), over ${e.bindingLimitName()}; pass at most ${fit} images at a time`,
    );
  }
}
