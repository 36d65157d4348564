// Plain CPU references for matmul and linear layers (float64 accumulation), from the definitions
// C[z, m, n] = sum_k A[z, m, k] B[z, k, n] and PyTorch's nn.Linear y = x W^T + b.

export function matmulRef(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  { transposeA = false, transposeB = false } = {},
): { data: Float64Array; shape: number[] } {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [M, K] = transposeA ? [ac, ar] : [ar, ac];
  const N = transposeB ? br : bc;
  const ba = aShape.length === 3 ? aShape[0] : 1;
  const bb = bShape.length === 3 ? bShape[0] : 1;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const aBase = ba > 1 ? z * ar * ac : 0;
    const bBase = bb > 1 ? z * br * bc : 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          // Stored A is (ar, ac): logical (m, k) is stored (m, k), or (k, m) when transposed.
          const av = transposeA ? a[aBase + k * ac + m] : a[aBase + m * ac + k];
          const bv = transposeB ? b[bBase + n * bc + k] : b[bBase + k * bc + n];
          s += av * bv;
        }
        out[(z * M + m) * N + n] = s;
      }
    }
  }
  const shape = aShape.length === 3 || bShape.length === 3 ? [batch, M, N] : [M, N];
  return { data: out, shape };
}

/** y = x W^T + bias (then ReLU), x: (N, K), W: (M, K) -> (N, M). */
export function linearRef(
  x: ArrayLike<number>,
  N: number,
  K: number,
  w: ArrayLike<number>,
  M: number,
  bias: ArrayLike<number> | null,
  relu = false,
): Float64Array {
  const y = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = bias ? bias[m] : 0;
      for (let k = 0; k < K; k++) s += x[n * K + k] * w[m * K + k];
      y[n * M + m] = relu ? Math.max(0, s) : s;
    }
  }
  return y;
}
