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

const union = (...parts: Sdf[]): Sdf => (x, y) => {
  let d = Infinity;
  for (const p of parts) d = Math.min(d, p(x, y));
  return d;
};

const HEART_HALF_DIAGONAL = Math.SQRT1_2; // a unit square turned 45 degrees
const heart = (() => {
  // y grows downwards in the image: the point is at the bottom (y = +0.78), the lobes on top.
  const bottom = 0.78;
  const h = HEART_HALF_DIAGONAL;
  const diamond = polygonSdf([
    [0, bottom],
    [h, bottom - h],
    [0, bottom - 2 * h],
    [-h, bottom - h],
  ]);
  // Circles of radius 1/2 on the midpoints of the two upper edges.
  const lobeY = bottom - 1.5 * h;
  return union(diamond, circleSdf(h / 2, lobeY, 0.5), circleSdf(-h / 2, lobeY, 0.5));
})();

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
  { name: 'square', sdf: polygonSdf([[-0.68, -0.68], [0.68, -0.68], [0.68, 0.68], [-0.68, 0.68]]) },
  { name: 'triangle', sdf: polygonSdf(radialPolygon(3, 0.98)) },
  { name: 'star', sdf: polygonSdf(radialPolygon(5, 0.98, 0.42)) },
  {
    name: 'cross',
    sdf: polygonSdf([
      [-ARM, -REACH], [ARM, -REACH], [ARM, -ARM], [REACH, -ARM], [REACH, ARM], [ARM, ARM],
      [ARM, REACH], [-ARM, REACH], [-ARM, ARM], [-REACH, ARM], [-REACH, -ARM], [-ARM, -ARM],
    ]),
  },
  { name: 'ring', sdf: ringSdf },
  { name: 'crescent', sdf: crescentSdf },
  { name: 'heart', sdf: heart },
  {
    name: 'arrow',
    sdf: polygonSdf([
      [-0.94, -0.19], [0.12, -0.19], [0.12, -0.55], [0.96, 0], [0.12, 0.55], [0.12, 0.19], [-0.94, 0.19],
    ]),
  },
  { name: 'hexagon', sdf: polygonSdf(radialPolygon(6, 0.93, 0.93, 0)) },
];

export const SYNTHETIC_CLASSES: string[] = SHAPES.map((s) => s.name);
