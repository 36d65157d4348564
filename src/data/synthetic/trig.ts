/**
 * sin / cos from + and * only, so a seeded image is bit-identical across JavaScript engines
 * (Math.sin and Math.cos are not required to be correctly rounded, and V8, SpiderMonkey and
 * JavaScriptCore differ in the last bits). Absolute error below 1e-9, far under a pixel.
 * Angles are given in turns (1 turn = 2*pi radians).
 */
const TWO_PI = 6.283185307179586;

/** sin and cos of x in [0, pi/2] by Taylor series to degree 14/15. */
function sinCosQuadrant(x: number): [number, number] {
  const x2 = x * x;
  let s = 1 / 1307674368000; // 1/15!
  s = 1 / 6227020800 - x2 * s; // 1/13!
  s = 1 / 39916800 - x2 * s;
  s = 1 / 362880 - x2 * s;
  s = 1 / 5040 - x2 * s;
  s = 1 / 120 - x2 * s;
  s = 1 / 6 - x2 * s;
  s = x * (1 - x2 * s);
  let c = 1 / 87178291200; // 1/14!
  c = 1 / 479001600 - x2 * c; // 1/12!
  c = 1 / 3628800 - x2 * c;
  c = 1 / 40320 - x2 * c;
  c = 1 / 720 - x2 * c;
  c = 1 / 24 - x2 * c;
  c = 1 / 2 - x2 * c;
  c = 1 - x2 * c;
  return [s, c];
}

/** [sin, cos] of an angle given in turns (any real number). */
export function sinCosTurns(turns: number): [number, number] {
  const t = turns - Math.floor(turns); // [0, 1)
  const quadrant = Math.floor(t * 4); // 0..3
  const [s, c] = sinCosQuadrant((t - quadrant / 4) * TWO_PI);
  switch (quadrant) {
    case 0:
      return [s, c];
    case 1:
      return [c, -s];
    case 2:
      return [-s, -c];
    default:
      return [-c, s];
  }
}
