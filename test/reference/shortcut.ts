// Plain CPU reference for the CIFAR ResNet option-A shortcut:
// F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad)) with pad = (outC - C) / 2.

export function shortcutRef(x: ArrayLike<number>, shape: readonly number[], outC: number): { y: Float64Array; shape: number[] } {
  const [n, c, h, w] = shape;
  const pad = (outC - c) / 2;
  const ho = Math.ceil(h / 2);
  const wo = Math.ceil(w / 2);
  const y = new Float64Array(n * outC * ho * wo);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) y[((b * outC + ch + pad) * ho + i) * wo + j] = x[((b * c + ch) * h + 2 * i) * w + 2 * j];
  return { y, shape: [n, outC, ho, wo] };
}

/** The transpose of the forward: each output gradient goes back to the input position it was copied from. */
export function shortcutBackwardRef(dy: ArrayLike<number>, inputShape: readonly number[], outC: number): Float64Array {
  const [n, c, h, w] = inputShape;
  const pad = (outC - c) / 2;
  const ho = Math.ceil(h / 2);
  const wo = Math.ceil(w / 2);
  const dx = new Float64Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) dx[((b * c + ch) * h + 2 * i) * w + 2 * j] += dy[((b * outC + ch + pad) * ho + i) * wo + j];
  return dx;
}
