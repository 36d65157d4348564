// Plain CPU references for softmax over the last axis (float64, max-subtracted) and its backward.

export function softmaxRef(x: Float32Array, len: number, log = false): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += len) {
    let mx = -Infinity;
    for (let i = 0; i < len; i++) mx = Math.max(mx, x[base + i]);
    let sum = 0;
    for (let i = 0; i < len; i++) sum += Math.exp(x[base + i] - mx);
    for (let i = 0; i < len; i++) out[base + i] = log ? x[base + i] - mx - Math.log(sum) : Math.exp(x[base + i] - mx) / sum;
  }
  return out;
}

/** Gradient of sum(dy * softmax(x)) w.r.t. x, from the Jacobian diag(y) - y y^T. */
export function softmaxBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>, len: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let base = 0; base < y.length; base += len) {
    for (let i = 0; i < len; i++) {
      let g = 0;
      for (let j = 0; j < len; j++) g += dy[base + j] * ((i === j ? y[base + i] : 0) - y[base + i] * y[base + j]);
      out[base + i] = g;
    }
  }
  return out;
}
