// Plain CPU reference for bilinear resize (PyTorch's F.interpolate), float64. align_corners=False: output
// coordinate d maps to source s = (d + 0.5) * in/out - 0.5, clamped below at 0; align_corners=True:
// s = d * (in - 1)/(out - 1) (0 for a single output). The value interpolates between floor(s) and the next
// pixel, the last pixel standing in for a missing neighbour.

interface Taps {
  i0: number;
  i1: number;
  l0: number;
  l1: number;
}

function sourceTaps(d: number, inSize: number, outSize: number, alignCorners = false): Taps {
  const s = alignCorners ? (outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0) : Math.max(((d + 0.5) * inSize) / outSize - 0.5, 0);
  const i0 = Math.min(Math.floor(s), inSize - 1);
  const l1 = Math.min(Math.max(s - i0, 0), 1);
  return { i0, i1: Math.min(i0 + 1, inSize - 1), l0: 1 - l1, l1 };
}

export function bilinearResizeRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  out: [number, number],
  alignCorners = false,
): Float64Array {
  const [n, c, h, w] = shape;
  const [ho, wo] = out;
  const y = new Float64Array(n * c * ho * wo);
  for (let p = 0; p < n * c; p++) {
    for (let oh = 0; oh < ho; oh++) {
      const th = sourceTaps(oh, h, ho, alignCorners);
      for (let ow = 0; ow < wo; ow++) {
        const tw = sourceTaps(ow, w, wo, alignCorners);
        const at = (r: number, q: number) => x[p * h * w + r * w + q];
        y[(p * ho + oh) * wo + ow] =
          th.l0 * (tw.l0 * at(th.i0, tw.i0) + tw.l1 * at(th.i0, tw.i1)) + th.l1 * (tw.l0 * at(th.i1, tw.i0) + tw.l1 * at(th.i1, tw.i1));
      }
    }
  }
  return y;
}

/** The transpose of the interpolation, written PyTorch's way: scatter each output gradient to its four taps. */
export function bilinearResizeBackwardRef(dy: ArrayLike<number>, inputShape: readonly number[], out: [number, number]): Float64Array {
  const [n, c, h, w] = inputShape;
  const [ho, wo] = out;
  const dx = new Float64Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let oh = 0; oh < ho; oh++) {
      const th = sourceTaps(oh, h, ho);
      for (let ow = 0; ow < wo; ow++) {
        const tw = sourceTaps(ow, w, wo);
        const g = dy[(p * ho + oh) * wo + ow];
        const add = (r: number, q: number, v: number) => (dx[p * h * w + r * w + q] += v);
        add(th.i0, tw.i0, th.l0 * tw.l0 * g);
        add(th.i0, tw.i1, th.l0 * tw.l1 * g);
        add(th.i1, tw.i0, th.l1 * tw.l0 * g);
        add(th.i1, tw.i1, th.l1 * tw.l1 * g);
      }
    }
  }
  return dx;
}
