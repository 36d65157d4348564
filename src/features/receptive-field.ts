/**
 * Receptive-field arithmetic over a model graph, without running it.
 *
 * Per spatial axis, along a path from the input (Araujo et al., "Computing receptive fields of CNNs",
 * Distill 2019; Dumoulin & Visin 2016):
 *   effective kernel  k' = d (k - 1) + 1
 *   size              r_l = r_{l-1} + (k'_l - 1) J_{l-1}            (r_0 = 1)
 *   jump              J_l = J_{l-1} s_l                              (J_0 = 1)
 *   start             c_l = c_{l-1} + ((k'_l - 1) / 2 - p_l) J_{l-1}  (c_0 = 0, the centre of pixel 0)
 * so the centre of unit u is c + u J in input pixels, and the unit sees input pixels
 * [c + u J - (r - 1) / 2, c + u J + (r - 1) / 2] (padding counted as if it were image).
 * Each op's record (graph/ops/) says how it moves the field: a window, position-wise, a join or a vector.
 * Where paths join (a residual add, a DenseNet concatenation) the path with the larger field wins:
 * ResNets follow the main branch (conv1 -> conv2 (-> conv3)), never the 1x1 downsample or the
 * parameter-free shortcut; a dense block follows its deepest layer. A squeeze-and-excitation gate
 * follows its feature map: the gate itself is a global statistic, so strictly every unit after it
 * depends on the whole image, multiplicatively; the field reported is the local one.
 */
import type { Graph, ValueId } from '../graph/graph.js';
import { INPUT } from '../graph/graph.js';
import { resolveLayer } from '../graph/layer-names.js';
import type { Model } from '../graph/model.js';
import { opOf } from '../graph/ops/index.js';
import type { Pair, Window } from '../graph/ops/op.js';
import { FeatureInputError } from './errors.js';

export type { Pair };

/** Where a layer's units look in the input: field size, stride between units (jump) and the offset of unit (0, 0). */
export interface ReceptiveField {
  layer: string;
  /** r: input pixels one unit sees along (h, w) on the longest path (padding counted as image). */
  size: Pair;
  /** J: input pixels between neighbouring units. */
  jump: Pair;
  /** Input coordinate (pixel centres are integers) of the centre of unit (0, 0); may be negative or fractional. */
  offset: Pair;
  /** The layer's spatial size for `inputSize` (1 x 1 for vectors). */
  outputSize: Pair;
  inputSize: Pair;
  /** The layer is a vector (after global pooling, flatten or a linear layer): every unit sees the whole image. */
  global: boolean;
  /** Names of the nodes on the longest path, input first. */
  path: string[];
}

/** Geometry of one value along both axes. */
interface Geo {
  r: Pair;
  j: Pair;
  c: Pair;
  size: Pair;
  global: boolean;
  path: string[];
}

function applyWindow(g: Geo, w: Window, name: string, global = false): Geo {
  const r = [0, 1].map((a) => g.r[a] + (w.k[a] - 1) * g.j[a]) as Pair;
  const c = [0, 1].map((a) => g.c[a] + ((w.k[a] - 1) / 2 - w.p[a]) * g.j[a]) as Pair;
  const j = [0, 1].map((a) => g.j[a] * w.s[a]) as Pair;
  return { r, j, c, size: w.out, global: g.global || global, path: [...g.path, name] };
}

/** Geometry of every value of the graph for an input of `inputSize`. */
function graphGeometry(graph: Graph, inputSize: Pair, until: ValueId): Map<ValueId, Geo> {
  const geo = new Map<ValueId, Geo>();
  geo.set(INPUT, { r: [1, 1], j: [1, 1], c: [0, 0], size: inputSize, global: false, path: [] });
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((v) => {
      const g = geo.get(v);
      if (!g) throw new FeatureInputError(`internal: ${node.name} reads value ${v} before it is produced`);
      return g;
    });
    let out: Geo;
    const rule = opOf(node).field(
      node,
      inputs.map((g) => g.size),
    );
    if (rule.kind === 'window') {
      out = applyWindow(inputs[0], rule.window, node.name, rule.global);
    } else if (rule.kind === 'widest') {
      // The longest path: the input whose field is larger (the main branch of a residual block).
      const pick = inputs.reduce((best, g) => (g.r[0] + g.r[1] > best.r[0] + best.r[1] ? g : best));
      out = { ...pick, path: [...pick.path, node.name] };
    } else if (rule.kind === 'vector') {
      const g = inputs[0];
      // A vector unit reads every position: a window as large as the map.
      out =
        g.size[0] === 1 && g.size[1] === 1
          ? { ...g, path: [...g.path, node.name] }
          : applyWindow(g, { k: g.size, s: g.size, p: [0, 0], out: [1, 1] }, node.name, true);
      out.global = true;
    } else {
      out = { ...inputs[0], path: [...inputs[0].path, node.name] };
    }
    geo.set(node.output, out);
    if (node.output === until) break;
  }
  return geo;
}

/**
 * The receptive field of `layer`'s units for an input of `inputSize` (default: the model's input size).
 * Works from the graph alone (kernel shapes and options), so it runs no GPU work.
 */
export function receptiveField(model: Model | Graph, layer: string, inputSize?: readonly [number, number]): ReceptiveField {
  const graph = 'graph' in model ? model.graph : model;
  const size = inputSize ?? ('info' in model ? model.info.inputSize : undefined);
  if (!size) throw new FeatureInputError('receptiveField: give the input size (height, width) when passing a bare graph');
  const value = resolveLayer(graph, layer);
  const inSize: Pair = [size[0], size[1]];
  const g = graphGeometry(graph, inSize, value).get(value)!;
  return { layer, size: g.r, jump: g.j, offset: g.c, outputSize: g.size, inputSize: inSize, global: g.global, path: g.path };
}

/** Half-open pixel box [y0, y1) x [x0, x1). */
export interface Box {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
}

/** The input pixels unit (uy, ux) sees; `clip` to the image by default (else may extend past it). */
export function receptiveFieldBox(rf: ReceptiveField, uy: number, ux: number, clip = true): Box {
  if (rf.global) return { y0: 0, x0: 0, y1: rf.inputSize[0], x1: rf.inputSize[1] };
  const lo = (a: 0 | 1, u: number) => Math.round(rf.offset[a] + u * rf.jump[a] - (rf.size[a] - 1) / 2);
  let box = { y0: lo(0, uy), x0: lo(1, ux), y1: lo(0, uy) + rf.size[0], x1: lo(1, ux) + rf.size[1] };
  if (clip) {
    box = {
      y0: Math.max(0, box.y0),
      x0: Math.max(0, box.x0),
      y1: Math.min(rf.inputSize[0], box.y1),
      x1: Math.min(rf.inputSize[1], box.x1),
    };
  }
  return box;
}

/** The centre of unit (uy, ux) in input pixel coordinates. */
export function unitCentre(rf: ReceptiveField, uy: number, ux: number): Pair {
  return [rf.offset[0] + uy * rf.jump[0], rf.offset[1] + ux * rf.jump[1]];
}

/** Units (inclusive ranges per axis, within the layer) whose field contains input pixel (py, px). */
export function unitsSeeingPixel(rf: ReceptiveField, py: number, px: number): { y: Pair; x: Pair } | null {
  const range = (a: 0 | 1, p: number): Pair | null => {
    if (rf.global) return [0, rf.outputSize[a] - 1];
    const half = (rf.size[a] - 1) / 2;
    const eps = 1e-9;
    const lo = Math.max(0, Math.ceil((p - half - rf.offset[a]) / rf.jump[a] - eps));
    const hi = Math.min(rf.outputSize[a] - 1, Math.floor((p + half - rf.offset[a]) / rf.jump[a] + eps));
    return lo <= hi ? [lo, hi] : null;
  };
  const y = range(0, py);
  const x = range(1, px);
  return y && x ? { y, x } : null;
}
