// Plain CPU references for inference batch-norm (float64 arithmetic).

/** Batch-norm as PyTorch defines it in eval mode: (x - mean) / sqrt(var + eps) * gamma + beta, channel dim 1. */
export function batchNormRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  p: { gamma: ArrayLike<number>; beta: ArrayLike<number>; mean: ArrayLike<number>; variance: ArrayLike<number>; eps: number },
): Float64Array {
  const c = shape[1];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / inner) % c;
    y[i] = ((x[i] - p.mean[ch]) / Math.sqrt(p.variance[ch] + p.eps)) * p.gamma[ch] + p.beta[ch];
  }
  return y;
}

/** y = x * scale[c] + shift[c], then max(y, 0) when relu. */
export function channelAffineRef(
  x: ArrayLike<number>,
  shape: readonly number[],
  scale: ArrayLike<number>,
  shift: ArrayLike<number>,
  relu = false,
): Float64Array {
  const c = shape[1];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / inner) % c;
    const v = x[i] * scale[ch] + shift[ch];
    y[i] = relu && v < 0 ? 0 : v;
  }
  return y;
}

/** d/dx of the affine map (without the ReLU): dy * scale[c]. */
export function channelAffineBackwardRef(dy: ArrayLike<number>, shape: readonly number[], scale: ArrayLike<number>): Float64Array {
  const zeros = new Float64Array(shape[1]);
  return channelAffineRef(dy, shape, scale, zeros);
}
