import { KernelInputError } from '../gpu/errors.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import type { LinearNode } from '../graph/graph.js';
import { paramValue } from '../graph/ops/op.js';
import {
  assertImageBatch,
  finishCam,
  inputSize,
  resolveTargets,
  weightedChannelSum,
  type Attribution,
  type MethodOptions,
} from './common.js';
import { scoped } from '../gpu/scopes.js';

/**
 * Class Activation Mapping (Zhou et al. 2016): M = sum_k w_{c,k} A_k with A the input of the global
 * average pool and w the weights of the linear layer after it. Only for GAP + FC heads.
 */
export const cam = scoped(async function cam(model: Model, x: Tensor, opts: Omit<MethodOptions, 'layer'> = {}): Promise<Attribution> {
  const raw = await camRaw(model, x, opts);
  const maps = finishCam(model.engine, raw.cam, inputSize(x));
  model.engine.release(raw.cam);
  return { method: 'cam', kind: 'heatmap', maps, targets: raw.targets, layer: raw.layer };
});

/**
 * The GAP input layer and the FC node that ends the model after it (global average pool, flatten,
 * dropouts, linear), or null when the model has no such head.
 */
export function findCamHead(model: Model): { layer: string; fc: LinearNode } | null {
  const nodes = model.graph.nodes;
  const fc = nodes[nodes.length - 1];
  if (fc.op !== 'linear') return null;
  let i = nodes.length - 2;
  while (i >= 0 && nodes[i].op === 'identity') i--;
  const gap = nodes[i - 1];
  if (nodes[i]?.op !== 'flatten' || gap?.op !== 'adaptiveavgpool' || gap.size[0] !== 1 || gap.size[1] !== 1) return null;
  const producer = gap.inputs[0];
  const layer = [...model.graph.names.entries()].find(([name, v]) => v === producer && !name.includes('#'))![0];
  return { layer, fc };
}

/** The GAP input layer and the FC node after it, or a refusal naming why. */
export function camHead(model: Model): { layer: string; fc: LinearNode } {
  const head = findCamHead(model);
  if (!head) {
    throw new KernelInputError(
      `CAM needs a global-average-pool + linear head; ${model.info.architecture} has none (torchvision VGG ends in a 7x7 pool and three linear layers, MobileNetV3 in two). Use grad-cam instead.`,
    );
  }
  return head;
}

/** sum_k w_{c,k} A_k at the layer's resolution, before ReLU: (N, 1, h, w). */
export const camRaw = scoped(async function camRaw(
  model: Model,
  x: Tensor,
  opts: Omit<MethodOptions, 'layer'> = {},
): Promise<{ cam: Tensor; targets: number[]; layer: string }> {
  assertImageBatch(model, x);
  const e = model.engine;
  const { layer, fc } = camHead(model);
  const trace = model.forward(x, { keep: [layer], forBackward: false });
  try {
    const targets = await resolveTargets(model, trace, opts.target);
    const A = trace.activation(layer);
    const K = A.shape[1];
    // Gather w[target_n, :] for each image from the (row-chunked) FC weight.
    const w = e.empty([targets.length, K, 1, 1], 'f32', 'cam.weights');
    const weight = paramValue(fc.weight);
    targets.forEach((t, n) => {
      const chunk = weight.chunks[Math.floor(t / weight.rowsPerChunk)];
      e.copy(chunk, (t % weight.rowsPerChunk) * K, w, n * K, K);
    });
    const camMap = weightedChannelSum(e, w, A);
    e.release(w);
    return { cam: camMap, targets, layer };
  } finally {
    trace.release();
  }
});
