/**
 * The layers worth offering a person for CAM-family methods: PyTorch module names whose output is still
 * a spatial map (N, C, H, W), i.e. every layer before the head's global pooling, flattening or first
 * linear layer. Names of a module's second and later uses (`layer1.0.relu#2`) are left out: they are
 * internal to the engine's graph and mean nothing in PyTorch; the block's own name (`layer1.0`) covers
 * that value.
 */
import type { Model } from './model.js';

const HEAD_OPS = new Set(['adaptiveavgpool', 'flatten', 'linear']);

/** One value of the network under all the names it answers to. */
export interface LayerChoice {
  /** The name to pass as `layer`: the outermost module (a block's container before its last ReLU). */
  name: string;
  /** Every other name of the same value, e.g. `layer1.0.relu` for `layer1.0`. */
  aliases: string[];
}

/** Spatial layers in network order, one entry per distinct value. */
export function camLayers(model: Model): LayerChoice[] {
  const nodes = model.graph.nodes;
  const headStart = nodes.findIndex((n) => HEAD_OPS.has(n.op));
  const spatial = new Set(nodes.slice(0, headStart < 0 ? nodes.length : headStart).map((n) => n.output));
  const byValue = new Map<number, LayerChoice>();
  // layerNames() lists values in network order and, within a value, the shortest (outermost) name first.
  for (const name of model.layerNames()) {
    const value = model.graph.names.get(name)!;
    if (name.includes('#') || !spatial.has(value)) continue;
    const entry = byValue.get(value);
    if (entry) entry.aliases.push(name);
    else byValue.set(value, { name, aliases: [] });
  }
  return [...byValue.values()];
}
