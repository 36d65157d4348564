/**
 * The ten object classes as signed distance functions in "unit" coordinates: the object is centred
 * at the origin and fits inside the unit circle, negative inside, positive outside, |d| the distance
 * to the outline (exact for polygons and circles, a close bound for the boolean combinations). The
 * renderer scales by the object radius in pixels, so d * radius is a distance in pixels and the
 * outline is anti-aliased by coverage = clamp(0.5 - d_px, 0, 1).
 *
 * Each silhouette has a mirror axis, so a flipped image still shows an object of the same class
 * (flips are safe augmentation).
 */
import { sinCosTurns } from './trig.js';

export type Sdf = (x: number, y: number) => number;
type Point = readonly [number, number];

/** Inigo Quilez's exact signed distance to a simple polygon (winding-independent). */
export function polygonSdf(vertices: readonly Point[]): Sdf {
  const vx = Float64Array.from(vertices, (v) => v[0]);
  const vy = Float64Array.from(vertices, (v) => v[1]);
  const n = vertices.length;
  return (px, py) => {
    let d = (px - vx[0]) * (px - vx[0]) + (py - vy[0]) * (py - vy[0]);
    let s = 1;
    for (let i = 0, j = n - 1; i < n; j = i, i++) {
      const ex = vx[j] - vx[i];
      const ey = vy[j] - vy[i];
      const wx = px - vx[i];
      const wy = py - vy[i];
      const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
      const bx = wx - ex * t;
      const by = wy - ey * t;
      d = Math.min(d, bx * bx + by * by);
      const c1 = py >= vy[i];
      const c2 = py < vy[j];
      const c3 = ex * wy > ey * wx;
      if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
    }
    return s * Math.sqrt(d);
  };
}

export function circleSdf(cx: number, cy: number, r: number): Sdf {
  return (x, y) => Math.sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) - r;
}

/** Distance to the segment (ax, ay)-(bx, by), minus a half-width: a line with round caps. */
export function segmentSdf(ax: number, ay: number, bx: number, by: number, halfWidth: number): Sdf {
  const ex = bx - ax;
  const ey = by - ay;
  const ee = ex * ex + ey * ey;
  return (x, y) => {
    const wx = x - ax;
    const wy = y - ay;
    const t = ee > 0 ? Math.min(1, Math.max(0, (wx * ex + wy * ey) / ee)) : 0;
    const dx = wx - ex * t;
    const dy = wy - ey * t;
    return Math.sqrt(dx * dx + dy * dy) - halfWidth;
  };
}

/** Regular polygon (or star when inner < outer): `points` tips, the first at angle `phase` turns. */
function radialPolygon(points: number, outer: number, inner = outer, phase = -0.25): Point[] {
  const star = inner !== outer;
  const count = star ? points * 2 : points;
  return Array.from({ length: count }, (_, i) => {
    const [s, c] = sinCosTurns(phase + i / count);
    const r = star && i % 2 === 1 ? inner : outer;
    return [r * c, r * s] as Point;
  });
}

/**
 * The classic parametric heart, x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t, as a
 * 64-gon, flipped so the point is at the bottom of the image and scaled to fit the unit circle. Its
 * deep notch and sharp point keep it apart from a square at small sizes.
 */
const heartSdf: Sdf = (() => {
  const n = 64;
  const raw = Array.from({ length: n }, (_, i) => {
    const t = i / n;
    const [s1] = sinCosTurns(t);
    const c = [1, 2, 3, 4].map((k) => sinCosTurns(k * t)[1]);
    return [16 * s1 * s1 * s1, -(13 * c[0] - 5 * c[1] - 2 * c[2] - c[3])] as Point;
  });
  const cy = (Math.min(...raw.map((p) => p[1])) + Math.max(...raw.map((p) => p[1]))) / 2;
  const r = Math.max(...raw.map(([x, y]) => Math.sqrt(x * x + (y - cy) * (y - cy))));
  return polygonSdf(raw.map(([x, y]) => [(0.96 * x) / r, (0.96 * (y - cy)) / r] as Point));
})();

/** An ellipse with semi-axes a and b as a fine polygon (exact distances, unlike scaling a circle). */
function ellipsePolygon(a: number, b: number, n = 48): Point[] {
  return Array.from({ length: n }, (_, i) => {
    const [s, c] = sinCosTurns(i / n);
    return [a * c, b * s] as Point;
  });
}

const ringSdf: Sdf = (x, y) => Math.abs(Math.sqrt(x * x + y * y) - 0.7) - 0.25;

const crescentSdf: Sdf = (() => {
  const outer = circleSdf(0, 0, 0.92);
  const bite = circleSdf(0.42, 0, 0.74);
  return (x, y) => Math.max(outer(x, y), -bite(x, y));
})();

const ARM = 0.27; // half-width of the cross's arms
const REACH = 0.92;

export interface ShapeClass {
  name: string;
  sdf: Sdf;
}

/** Class index = position in this list. */
export const SHAPES: readonly ShapeClass[] = [
  { name: 'circle', sdf: circleSdf(0, 0, 0.86) },
  {
    name: 'square',
    sdf: polygonSdf([
      [-0.68, -0.68],
      [0.68, -0.68],
      [0.68, 0.68],
      [-0.68, 0.68],
    ]),
  },
  { name: 'triangle', sdf: polygonSdf(radialPolygon(3, 0.98)) },
  { name: 'star', sdf: polygonSdf(radialPolygon(5, 0.98, 0.42)) },
  {
    name: 'cross',
    sdf: polygonSdf([
      [-ARM, -REACH],
      [ARM, -REACH],
      [ARM, -ARM],
      [REACH, -ARM],
      [REACH, ARM],
      [ARM, ARM],
      [ARM, REACH],
      [-ARM, REACH],
      [-ARM, ARM],
      [-REACH, ARM],
      [-REACH, -ARM],
      [-ARM, -ARM],
    ]),
  },
  { name: 'ring', sdf: ringSdf },
  { name: 'crescent', sdf: crescentSdf },
  { name: 'heart', sdf: heartSdf },
  {
    name: 'arrow',
    sdf: polygonSdf([
      [-0.94, -0.22],
      [0.06, -0.22],
      [0.06, -0.6],
      [0.96, 0],
      [0.06, 0.6],
      [0.06, 0.22],
      [-0.94, 0.22],
    ]),
  },
  { name: 'ellipse', sdf: polygonSdf(ellipsePolygon(0.95, 0.42)) },
];

/** The ten class names of the generated shapes data, in label order. */
export const SYNTHETIC_CLASSES: string[] = SHAPES.map((s) => s.name);
