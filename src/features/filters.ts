/**
 * Convolution filters as pictures: the first layer's RGB filters (each one min-max scaled on its own,
 * docs/design.md §2.14), or any conv layer's filters as grey tiles, one per input channel. The weights are read
 * back from the GPU tensors of the loaded graph, so what is drawn is what the engine computes with.
 */
import { INPUT, type ConvNode } from '../graph/graph.js';
import { paramValue } from '../graph/ops/op.js';
import type { Model } from '../graph/model.js';
import { tileGrid } from '../image/grid.js';
import { createRgbImage, type RgbImage } from '../image/image.js';
import { FeatureInputError } from './errors.js';
import { scoped } from '../gpu/scopes.js';
import { valueBounds } from '../util/stretch.js';

/** The weights of one convolution, read back from the GPU for drawing. */
export interface ConvWeights {
  layer: string;
  /** (O, C/groups, kh, kw) row-major. */
  weight: Float32Array;
  shape: [o: number, c: number, kh: number, kw: number];
  groups: number;
}

/** Names of every convolution of the model, in network order. */
export function convLayers(model: Model): string[] {
  return model.graph.nodes.filter((n) => n.op === 'conv').map((n) => n.name);
}

/** The first convolution that reads the input image (`conv1`, `features.0`). */
export function firstConvLayer(model: Model): string {
  const node = model.graph.nodes.find((n) => n.op === 'conv' && n.inputs[0] === INPUT);
  if (!node) throw new FeatureInputError(`${model.info.architecture} has no convolution reading the input image`);
  return node.name;
}

function convNode(model: Model, layer: string): ConvNode {
  model.assertLayer(layer);
  const value = model.graph.names.get(layer)!;
  const node = model.graph.nodes.find((n) => n.name === layer && n.op === 'conv') ?? model.graph.producer(value);
  if (!node || node.op !== 'conv') {
    const convs = convLayers(model);
    throw new FeatureInputError(
      `layer "${layer}" is ${node ? `a ${node.op} layer` : 'the input'}, not a convolution; conv layers: ${convs.slice(0, 30).join(', ')}${convs.length > 30 ? `, ... (${convs.length})` : ''}`,
    );
  }
  return node;
}

/** Reads a conv layer's weights back from the GPU. */
export const readConvWeights = scoped(async function readConvWeights(model: Model, layer: string): Promise<ConvWeights> {
  const node = convNode(model, layer);
  const [o, c, kh, kw] = node.weight.shape;
  return {
    layer: node.name,
    weight: await paramValue(node.weight).readF32(),
    shape: [o, c, kh, kw],
    groups: (node.opts.groups as number | undefined) ?? 1,
  };
});

/** (v - min) / (max - min + 1e-7) over `values`; an all-constant set becomes zeros (docs/design.md's minmax). */
function minmaxBytes(values: ArrayLike<number>, out: Uint8Array, stride = 1, offset = 0): void {
  const [lo, hi] = valueBounds(values);
  const span = hi - lo;
  for (let i = 0; i < values.length; i++) {
    out[offset + i * stride] = span > 0 ? Math.round((255 * (values[i] - lo)) / (span + 1e-7)) : 0;
  }
}

/** One RGB tile per filter of a conv that reads 3 channels; each filter min-max scaled over its 3*kh*kw values. */
export function rgbFilterTiles(w: ConvWeights): RgbImage[] {
  const [o, c, kh, kw] = w.shape;
  if (c !== 3)
    throw new FeatureInputError(`layer "${w.layer}" reads ${c} channels per filter; RGB tiles need 3 (draw it as grey tiles per channel)`);
  const per = 3 * kh * kw;
  return Array.from({ length: o }, (_, f) => {
    const tile = createRgbImage(kw, kh);
    const filter = w.weight.subarray(f * per, (f + 1) * per);
    const bytes = new Uint8Array(per);
    minmaxBytes(filter, bytes);
    // (3, kh, kw) planes -> interleaved RGB pixels.
    for (let ch = 0; ch < 3; ch++) for (let p = 0; p < kh * kw; p++) tile.data[p * 3 + ch] = bytes[ch * kh * kw + p];
    return tile;
  });
}

/** How many filters and input channels {@link greyFilterTiles} draws. */
export interface GreyTileOptions {
  /** Filters (rows) drawn; default all. */
  maxFilters?: number;
  /** Input channels (columns) drawn per filter; default all. */
  maxChannels?: number;
}

/**
 * Rows of grey tiles: row f holds filter f's kernel for each input channel, min-max scaled over the
 * whole filter so channels of one filter compare. Returns rows (filters) of tiles (channels).
 */
export function greyFilterTiles(w: ConvWeights, opts: GreyTileOptions = {}): RgbImage[][] {
  const [o, c, kh, kw] = w.shape;
  const rows = Math.min(o, opts.maxFilters ?? o);
  const cols = Math.min(c, opts.maxChannels ?? c);
  const per = c * kh * kw;
  return Array.from({ length: rows }, (_, f) => {
    const bytes = new Uint8Array(per);
    minmaxBytes(w.weight.subarray(f * per, (f + 1) * per), bytes);
    return Array.from({ length: cols }, (_, ch) => {
      const tile = createRgbImage(kw, kh);
      for (let p = 0; p < kh * kw; p++) tile.data.fill(bytes[ch * kh * kw + p], p * 3, p * 3 + 3);
      return tile;
    });
  });
}

/** Options of {@link filterGrid}. */
export interface FilterGridOptions extends GreyTileOptions {
  /** Nearest-neighbour upscale of each tile; default: enough for tiles of about 24 pixels. */
  scale?: number;
  /** Default 2 (RGB grid) / 1 (grey rows). */
  padding?: number;
  /** RGB grid only; default a roughly square sheet. */
  columns?: number;
  /** 'rgb' (3-channel convs only) or 'grey'; default rgb where the layer reads 3 channels. */
  mode?: 'rgb' | 'grey';
}

/** A convolution layer's filters drawn as one picture, with what was drawn. */
export interface FilterGrid {
  layer: string;
  mode: 'rgb' | 'grey';
  shape: ConvWeights['shape'];
  /** Filters and channels actually drawn. */
  filters: number;
  channels: number;
  image: RgbImage;
}

/** The filters of `layer` (default: the first conv) as one picture. */
export async function filterGrid(model: Model, layer?: string, opts: FilterGridOptions = {}): Promise<FilterGrid> {
  const w = await readConvWeights(model, layer ?? firstConvLayer(model));
  const [o, c, kh, kw] = w.shape;
  const mode = opts.mode ?? (c === 3 ? 'rgb' : 'grey');
  const scale = opts.scale ?? Math.max(1, Math.ceil(24 / Math.max(kh, kw)));
  if (mode === 'rgb') {
    const tiles = rgbFilterTiles(w).slice(0, opts.maxFilters ?? o);
    const image = tileGrid(tiles, { columns: opts.columns, padding: opts.padding ?? 2, scale, background: [255, 255, 255] });
    return { layer: w.layer, mode, shape: w.shape, filters: tiles.length, channels: 3, image };
  }
  const rows = greyFilterTiles(w, opts);
  const cols = rows[0].length;
  // Channels of one filter sit in a row. A coloured grid line, since grey tiles would vanish into grey or white.
  const image = tileGrid(rows.flat(), { columns: cols, padding: opts.padding ?? 1, scale, background: [40, 90, 160] });
  return { layer: w.layer, mode, shape: w.shape, filters: rows.length, channels: cols, image };
}
