/**
 * Colormaps for heatmaps. jet and bwr are matplotlib's piecewise-linear definitions, evaluated
 * exactly; turbo and viridis interpolate their published 256-entry tables. gray is for plain
 * greyscale maps. bwr is the diverging map for signed values: 0 is always white.
 */
import { TURBO_HEX, VIRIDIS_HEX } from './colormap-data.js';
import type { RgbImage } from './image.js';

/** Every colormap {@link applyColormap} knows. */
export const COLORMAP_NAMES = ['jet', 'turbo', 'viridis', 'bwr', 'gray'] as const;
/** A colormap name: `jet`, `turbo`, `viridis`, `bwr` (diverging) or `gray`. */
export type ColormapName = (typeof COLORMAP_NAMES)[number];

/** Validates a user-supplied name (e.g. a CLI flag), listing the valid ones when it is wrong. */
export function parseColormapName(name: string): ColormapName {
  const found = COLORMAP_NAMES.find((n) => n === name);
  if (!found) throw new RangeError(`unknown colormap "${name}"; choose one of: ${COLORMAP_NAMES.join(', ')}`);
  return found;
}

/** Whether the colormap is diverging (centred on 0), so signed maps are drawn on a symmetric range. */
export const isDiverging = (name: ColormapName): boolean => name === 'bwr';

/** One channel as (position, value) knots, positions ascending from 0 to 1. */
type Knots = ReadonlyArray<readonly [x: number, y: number]>;

const SEGMENTED: Record<'jet' | 'bwr' | 'gray', readonly [Knots, Knots, Knots]> = {
  // matplotlib's _jet_data: dark blue (0, 0, 0.5) -> cyan -> yellow -> dark red (0.5, 0, 0).
  jet: [
    [
      [0, 0],
      [0.35, 0],
      [0.66, 1],
      [0.89, 1],
      [1, 0.5],
    ],
    [
      [0, 0],
      [0.125, 0],
      [0.375, 1],
      [0.64, 1],
      [0.91, 0],
      [1, 0],
    ],
    [
      [0, 0.5],
      [0.11, 1],
      [0.34, 1],
      [0.65, 0],
      [1, 0],
    ],
  ],
  // matplotlib's bwr: blue -> white -> red, evenly spaced.
  bwr: [
    [
      [0, 0],
      [0.5, 1],
      [1, 1],
    ],
    [
      [0, 0],
      [0.5, 1],
      [1, 0],
    ],
    [
      [0, 1],
      [0.5, 1],
      [1, 0],
    ],
  ],
  gray: [
    [
      [0, 0],
      [1, 1],
    ],
    [
      [0, 0],
      [1, 1],
    ],
    [
      [0, 0],
      [1, 1],
    ],
  ],
};

function evalKnots(knots: Knots, t: number): number {
  let i = 1;
  while (i < knots.length - 1 && knots[i][0] < t) i++;
  const [x0, y0] = knots[i - 1];
  const [x1, y1] = knots[i];
  return y0 + ((y1 - y0) * (t - x0)) / (x1 - x0);
}

const parseHexTable = (hex: string): Uint8Array =>
  Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));

// Parsed on first use so importing this module stays cheap.
const tables: Partial<Record<'turbo' | 'viridis', Uint8Array>> = {};
function table(name: 'turbo' | 'viridis'): Uint8Array {
  return (tables[name] ??= parseHexTable(name === 'turbo' ? TURBO_HEX : VIRIDIS_HEX));
}

/** The colour at u in [0, 1] before rounding, as floats in [0, 255]. */
function unroundedColor(name: ColormapName, u: number, out: Float64Array): void {
  if (name === 'turbo' || name === 'viridis') {
    const entries = table(name);
    const pos = u * 255;
    const i = Math.min(254, Math.floor(pos));
    const f = pos - i;
    for (let c = 0; c < 3; c++) out[c] = entries[3 * i + c] * (1 - f) + entries[3 * i + 3 + c] * f;
  } else {
    const knots = SEGMENTED[name];
    for (let c = 0; c < 3; c++) out[c] = evalKnots(knots[c], u) * 255;
  }
}

/**
 * Colourising goes through a 4096-entry table per map: exact at both ends and at the centre
 * of bwr, and within 0.2 levels elsewhere, at a table lookup per pixel.
 */
const LUT_SIZE = 4096;
const luts: Partial<Record<ColormapName, Uint8Array>> = {};
function lut(name: ColormapName): Uint8Array {
  let l = luts[name];
  if (!l) {
    l = new Uint8Array(3 * LUT_SIZE);
    const rgb = new Float64Array(3);
    for (let i = 0; i < LUT_SIZE; i++) {
      unroundedColor(name, i / (LUT_SIZE - 1), rgb);
      for (let c = 0; c < 3; c++) l[3 * i + c] = Math.round(rgb[c]);
    }
    luts[name] = l;
  }
  return l;
}

/** Writes the colour at t (clamped to [0, 1]) as bytes into out[at..at+2]. */
function writeColor(colors: Uint8Array, t: number, out: Uint8Array, at: number): void {
  const i = 3 * Math.round(Math.min(1, Math.max(0, t)) * (LUT_SIZE - 1));
  out[at] = colors[i];
  out[at + 1] = colors[i + 1];
  out[at + 2] = colors[i + 2];
}

/** The colour at t in [0, 1] as [r, g, b] bytes. */
export function colormapColor(name: ColormapName, t: number): [number, number, number] {
  const out = new Uint8Array(3);
  writeColor(lut(name), t, out, 0);
  return [out[0], out[1], out[2]];
}

/** Options of {@link applyColormap}. */
export interface ColormapOptions {
  /**
   * Values mapped to the two ends of the colormap; outside values are clamped. Default: the
   * map's finite min and max (as matplotlib's imshow). For a diverging map the range is made
   * symmetric about 0, [-m, m] with m the larger of |lo| and |hi|, so 0 is always the centre colour.
   */
  range?: readonly [lo: number, hi: number];
}

function finiteExtent(map: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/**
 * Colours an (h, w) map. Where the range is empty (a constant map, an all-zero signed map) every
 * value gets the neutral colour, the low end or a diverging map's centre, never NaN garbage;
 * non-finite values get it too.
 */
export function applyColormap(
  map: Float32Array,
  width: number,
  height: number,
  name: ColormapName,
  options: ColormapOptions = {},
): RgbImage {
  if (map.length !== width * height)
    throw new RangeError(`applyColormap: expected ${width}x${height} = ${width * height} values, got ${map.length}`);
  let [lo, hi] = options.range ?? finiteExtent(map);
  const diverging = isDiverging(name);
  if (diverging) {
    hi = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -hi;
  }
  const neutral = diverging ? 0.5 : 0;
  const span = hi - lo;
  const colors = lut(name);
  const data = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    const t = span > 0 && Number.isFinite(v) ? (v - lo) / span : neutral;
    writeColor(colors, t, data, 3 * i);
  }
  return { width, height, data };
}
