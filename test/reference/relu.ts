// Plain CPU references for ReLU, written from the definitions in docs/design.md §1.2.

export function reluRef(x: Float32Array): Float32Array {
  return x.map((v) => (v > 0 ? v : 0));
}

export function reluBackwardRef(z: Float32Array, r: Float32Array, rule: 'standard' | 'guided' | 'deconvnet'): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const zPositive = z[i] > 0;
    const rPositive = r[i] > 0;
    const keep = rule === 'standard' ? zPositive : rule === 'guided' ? zPositive && rPositive : rPositive;
    out[i] = keep ? r[i] : 0;
  }
  return out;
}
