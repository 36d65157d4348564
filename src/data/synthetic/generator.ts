/**
 * Seeded synthetic images with ground-truth masks: one object of one of ten shape classes per 64x64
 * RGB image, at a random position, size, rotation and colour, over a textured background (value
 * noise, stripes, a gradient or a checkerboard) with small distractor blobs and lines that are not
 * objects and are not in the mask. The mask marks the object's pixels (pixel centre inside the
 * outline, i.e. anti-aliased coverage >= 1/2).
 *
 * Deterministic: sample `index` of seed `seed` depends on nothing else (counter-based hashing, see
 * rng.ts; trigonometry from + and * only, see trig.ts), so it is the same bytes in Node and in every
 * browser. Pure TypeScript, no Node imports.
 *
 * Changing anything here changes the data the default models were trained on: bump
 * SYNTHETIC_VERSION and retrain (tools/train_default_models.py).
 */
import { CounterRng, hashKey } from './rng.js';
import { SHAPES, SYNTHETIC_CLASSES, segmentSdf, type Sdf } from './shapes.js';
import { sinCosTurns } from './trig.js';

export { SYNTHETIC_CLASSES };

export const SYNTHETIC_VERSION = 2;
/** Side of every generated picture, in pixels (square, RGB). */
export const SYNTHETIC_SIZE = 64;
/** Generator name recorded in dataset and model metadata. */
export const SYNTHETIC_GENERATOR = `layertracer-synthetic-v${SYNTHETIC_VERSION}`;

/** The generated data's splits; each has its own seed ({@link SPLIT_SEEDS}). */
export type SyntheticSplit = 'train' | 'val' | 'test';
/** The splits differ only by seed. */
export const SPLIT_SEEDS: Readonly<Record<SyntheticSplit, number>> = { train: 1001, val: 2002, test: 3003 };

/** The background a generated sample is drawn on. */
export type BackgroundKind = 'noise' | 'stripes' | 'gradient' | 'checker';
export const BACKGROUND_KINDS: readonly BackgroundKind[] = ['noise', 'stripes', 'gradient', 'checker'];

/** Where the generated shape lies in its picture, in pixels. */
export interface BoundingBox {
  /** Left column and top row of the smallest box holding every mask pixel. */
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One generated picture: its RGB bytes, class and per-pixel object mask. */
export interface SyntheticSample {
  /** (64, 64, 3) RGB, row-major HWC. */
  image: Uint8Array;
  /** (64, 64), 1 where the pixel belongs to the object, else 0. */
  mask: Uint8Array;
  label: number;
  bbox: BoundingBox;
  /** How the sample was drawn (for debugging and for benchmarks that want more than the mask). */
  params: {
    className: string;
    /** Object centre in pixels (pixel (i, j) has its centre at (j + 0.5, i + 0.5)). */
    centerX: number;
    centerY: number;
    /** Radius of the circle the object fits in, pixels. */
    radius: number;
    /** Rotation, turns. */
    rotation: number;
    color: [number, number, number];
    background: BackgroundKind;
    distractors: number;
  };
}

export interface SyntheticBatch {
  /** (N, 64, 64, 3) RGB. */
  images: Uint8Array;
  /** (N, 64, 64). */
  masks: Uint8Array;
  /** (N). */
  labels: Uint8Array;
}

const S = SYNTHETIC_SIZE;
const CLASS_COUNT = SHAPES.length;

// Independent random streams of a sample (stream 0 is the label permutation, keyed per block).
const STREAM_LABEL = 0;
const STREAM_BACKGROUND = 1;
const STREAM_OBJECT = 2;
const STREAM_CLUTTER = 3;
const STREAM_NOISE = 4;

const MIN_RADIUS = 10;
const MAX_RADIUS = 20;
/** Minimum RGB distance between the object colour and both background colours. */
const MIN_CONTRAST = 100;

type Rgb = [number, number, number];

/**
 * Labels come in blocks of ten indices, each block a seeded permutation of the ten classes: every
 * class appears exactly count/10 times in the first count samples (count a multiple of 10), yet the
 * order is not a fixed cycle.
 */
export function syntheticLabel(seed: number, index: number): number {
  const rng = new CounterRng(hashKey(seed, Math.floor(index / CLASS_COUNT)), STREAM_LABEL);
  const perm = Array.from({ length: CLASS_COUNT }, (_, i) => i);
  for (let i = CLASS_COUNT - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm[index % CLASS_COUNT];
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
const fract = (v: number): number => v - Math.floor(v);
const distance = (a: Rgb, b: Rgb): number => Math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2);
const randomColor = (rng: CounterRng, lo = 0, hi = 256): Rgb => [rng.range(lo, hi), rng.range(lo, hi), rng.range(lo, hi)];

/** Two nearby colours: textures stay low-contrast, so they never outshine the object. */
function backgroundColors(rng: CounterRng): [Rgb, Rgb] {
  const c0 = randomColor(rng, 20, 236);
  const dir: Rgb = [rng.normalish(), rng.normalish(), rng.normalish()];
  const norm = Math.sqrt(dir[0] ** 2 + dir[1] ** 2 + dir[2] ** 2) || 1;
  const dist = rng.range(25, 75);
  const c1 = dir.map((d, k) => clamp(c0[k] + (d / norm) * dist, 0, 255)) as Rgb;
  return [c0, c1];
}

/** t in [0, 1] per pixel, mixed between the two background colours. */
function backgroundPattern(kind: BackgroundKind, rng: CounterRng): (x: number, y: number) => number {
  const [s, c] = sinCosTurns(rng.uniform());
  switch (kind) {
    case 'noise': {
      // Value noise: random values on a coarse lattice, smoothly interpolated.
      const cell = [6, 9, 13, 18][rng.int(4)];
      const n = Math.ceil(S / cell) + 2;
      const lattice = Float64Array.from({ length: n * n }, () => rng.uniform());
      const smooth = (t: number) => t * t * (3 - 2 * t);
      return (x, y) => {
        const gx = x / cell;
        const gy = y / cell;
        const ix = Math.floor(gx);
        const iy = Math.floor(gy);
        const fx = smooth(gx - ix);
        const fy = smooth(gy - iy);
        const at = (i: number, j: number) => lattice[j * n + i];
        const top = at(ix, iy) + (at(ix + 1, iy) - at(ix, iy)) * fx;
        const bottom = at(ix, iy + 1) + (at(ix + 1, iy + 1) - at(ix, iy + 1)) * fx;
        return top + (bottom - top) * fy;
      };
    }
    case 'stripes': {
      const period = rng.range(4, 12);
      const sharpness = rng.range(1, 4);
      const phase = rng.uniform();
      return (x, y) => {
        const f = fract((x * c + y * s) / period + phase);
        const tri = f < 0.5 ? 2 * f : 2 - 2 * f;
        return clamp((tri - 0.5) * sharpness + 0.5, 0, 1);
      };
    }
    case 'gradient': {
      // Projection of the image corners onto the direction gives the range to normalise by.
      const proj = [0, S * c, S * s, S * (c + s)];
      const lo = Math.min(...proj);
      const hi = Math.max(...proj);
      return (x, y) => (x * c + y * s - lo) / (hi - lo);
    }
    case 'checker': {
      const size = rng.range(3, 9);
      const ox = rng.range(0, size);
      const oy = rng.range(0, size);
      return (x, y) => {
        const u = Math.floor((x * c + y * s + ox) / size);
        const v = Math.floor((-x * s + y * c + oy) / size);
        return (((u + v) % 2) + 2) % 2;
      };
    }
  }
}

/**
 * Blends `color` into the float image wherever the shape covers a pixel (anti-aliased by the signed
 * distance in pixels), over the box [x0, x1) x [y0, y1); returns nothing, or writes the mask
 * (pixel centre inside) when one is given. `shade` optionally varies the colour inside the shape.
 */
function paint(
  rgb: Float64Array,
  sdfPx: Sdf,
  color: Rgb,
  box: [number, number, number, number],
  mask?: Uint8Array,
  shade?: (x: number, y: number) => number,
): void {
  const x0 = clamp(Math.floor(box[0]), 0, S);
  const x1 = clamp(Math.ceil(box[1]), 0, S);
  const y0 = clamp(Math.floor(box[2]), 0, S);
  const y1 = clamp(Math.ceil(box[3]), 0, S);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const d = sdfPx(px, py);
      const cover = clamp(0.5 - d, 0, 1);
      if (mask && d <= 0) mask[y * S + x] = 1;
      if (cover === 0) continue;
      const k = shade ? shade(px, py) : 1;
      const o = (y * S + x) * 3;
      for (let ch = 0; ch < 3; ch++) rgb[o + ch] += (color[ch] * k - rgb[o + ch]) * cover;
    }
  }
}

function objectColor(rng: CounterRng, bg: [Rgb, Rgb]): Rgb {
  for (let attempt = 0; attempt < 64; attempt++) {
    const c = randomColor(rng);
    if (distance(c, bg[0]) >= MIN_CONTRAST && distance(c, bg[1]) >= MIN_CONTRAST) return c;
  }
  // The cube corner farthest from the background's mean is always at least ~110 away.
  return [0, 1, 2].map((k) => ((bg[0][k] + bg[1][k]) / 2 < 128 ? 255 : 0)) as Rgb;
}

/** Small blobs and short lines, kept clear of the object so its silhouette stays intact. */
function paintDistractors(rgb: Float64Array, rng: CounterRng, cx: number, cy: number, radius: number): number {
  const wanted = 2 + rng.int(6);
  let drawn = 0;
  for (let i = 0; i < wanted; i++) {
    const blob = rng.uniform() < 0.6;
    const extent = blob ? rng.range(1.2, 3.5) : rng.range(3, 8); // blob radius / half line length
    const [s, c] = sinCosTurns(rng.uniform());
    const color = randomColor(rng);
    let placed = false;
    let x = 0;
    let y = 0;
    for (let attempt = 0; attempt < 12 && !placed; attempt++) {
      x = rng.range(1, S - 1);
      y = rng.range(1, S - 1);
      placed = Math.sqrt((x - cx) ** 2 + (y - cy) ** 2) >= radius + extent + 2;
    }
    if (!placed) continue;
    let sdf: Sdf;
    if (blob) {
      // Ellipse with semi-axes extent and aspect*extent (distance approximated by scaling a circle).
      const b = extent * rng.range(0.5, 1);
      sdf = (px, py) => {
        const u = ((px - x) * c + (py - y) * s) / extent;
        const v = (-(px - x) * s + (py - y) * c) / b;
        return (Math.sqrt(u * u + v * v) - 1) * b;
      };
    } else {
      sdf = segmentSdf(x - c * extent, y - s * extent, x + c * extent, y + s * extent, rng.range(0.5, 1));
    }
    paint(rgb, sdf, color, [x - extent - 2, x + extent + 2, y - extent - 2, y + extent + 2]);
    drawn++;
  }
  return drawn;
}

/** Sample `index` of the synthetic dataset with seed `seed`. */
export function generateSample(seed: number, index: number): SyntheticSample {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`sample index must be a non-negative integer, got ${index}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const key = hashKey(seed, index);
  const label = syntheticLabel(seed, index);
  const rgb = new Float64Array(S * S * 3);
  const mask = new Uint8Array(S * S);

  // Background.
  const bgRng = new CounterRng(key, STREAM_BACKGROUND);
  const background = BACKGROUND_KINDS[bgRng.int(BACKGROUND_KINDS.length)];
  const bg = backgroundColors(bgRng);
  const pattern = backgroundPattern(background, bgRng);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = pattern(x + 0.5, y + 0.5);
      const o = (y * S + x) * 3;
      for (let ch = 0; ch < 3; ch++) rgb[o + ch] = bg[0][ch] + (bg[1][ch] - bg[0][ch]) * t;
    }
  }

  // The object's placement first (distractors keep clear of it), painted last (on top).
  const objRng = new CounterRng(key, STREAM_OBJECT);
  const radius = objRng.range(MIN_RADIUS, MAX_RADIUS);
  const cx = objRng.range(radius + 1, S - radius - 1);
  const cy = objRng.range(radius + 1, S - radius - 1);
  const rotation = objRng.uniform();
  const color = objectColor(objRng, bg);
  const [lx, ly] = sinCosTurns(objRng.uniform());
  const shadeAmount = objRng.range(0, 0.25);

  const distractors = paintDistractors(rgb, new CounterRng(key, STREAM_CLUTTER), cx, cy, radius);

  const [sn, cs] = sinCosTurns(rotation);
  const unit = SHAPES[label].sdf;
  const sdfPx: Sdf = (px, py) => {
    const dx = px - cx;
    const dy = py - cy;
    return unit((cs * dx + sn * dy) / radius, (-sn * dx + cs * dy) / radius) * radius;
  };
  // Soft directional lighting: brightness 1 +- shadeAmount across the object.
  const shade = (px: number, py: number) => 1 + (shadeAmount * ((px - cx) * lx + (py - cy) * ly)) / radius;
  paint(rgb, sdfPx, color, [cx - radius - 2, cx + radius + 2, cy - radius - 2, cy + radius + 2], mask, shade);

  // Sensor noise on every pixel: triangular distribution (sum of two 16-bit uniforms), std sigma.
  const noise = new CounterRng(key, STREAM_NOISE);
  const sigma = noise.range(2, 9);
  const scale = sigma * Math.sqrt(6);
  const image = new Uint8Array(S * S * 3);
  for (let i = 0; i < image.length; i++) {
    const h = noise.at(i + 1);
    const tri = ((h & 0xffff) + (h >>> 16)) / 65536 - 1; // (-1, 1), std 1/sqrt(6)
    image[i] = Math.round(clamp(rgb[i] + tri * scale, 0, 255));
  }

  return {
    image,
    mask,
    label,
    bbox: maskBox(mask),
    params: {
      className: SYNTHETIC_CLASSES[label],
      centerX: cx,
      centerY: cy,
      radius,
      rotation,
      color: color.map((v) => Math.round(v)) as Rgb,
      background,
      distractors,
    },
  };
}

function maskBox(mask: Uint8Array): BoundingBox {
  let x0 = S;
  let y0 = S;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      if (!mask[y * S + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? { x: 0, y: 0, width: 0, height: 0 } : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Samples [start, start + count) of a seed, packed NHWC. */
export function generateRange(seed: number, start: number, count: number): SyntheticBatch {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const images = new Uint8Array(count * S * S * 3);
  const masks = new Uint8Array(count * S * S);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const s = generateSample(seed, start + i);
    images.set(s.image, i * S * S * 3);
    masks.set(s.mask, i * S * S);
    labels[i] = s.label;
  }
  return { images, masks, labels };
}

/** The first `count` samples of a split; sample i of a split is always the same image. */
export function generateSplit(split: SyntheticSplit, count: number): SyntheticBatch {
  const seed = SPLIT_SEEDS[split];
  if (seed === undefined) throw new RangeError(`unknown split "${split}"; use train, val or test`);
  return generateRange(seed, 0, count);
}
