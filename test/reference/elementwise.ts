// Plain CPU references for the elementwise ops, from NumPy's broadcasting rule and PyTorch's definitions.

export type BinaryOpRef = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

const BINARY: Record<BinaryOpRef, (u: number, v: number) => number> = {
  add: (u, v) => u + v,
  sub: (u, v) => u - v,
  mul: (u, v) => u * v,
  div: (u, v) => u / v,
  max: (u, v) => Math.max(u, v),
  min: (u, v) => Math.min(u, v),
};

export function broadcastShapeRef(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - rank + a.length >= 0 ? a[i - rank + a.length] : 1;
    const db = i - rank + b.length >= 0 ? b[i - rank + b.length] : 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast ${a} with ${b}`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Element of `data` (shape `shape`, right-aligned against `out`) at the output multi-index `idx`. */
function at(data: Float32Array, shape: readonly number[], out: readonly number[], idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) {
    const coord = shape[i] === 1 ? 0 : idx[out.length - shape.length + i];
    flat = flat * shape[i] + coord;
  }
  return data[flat];
}

export function binaryRef(
  op: BinaryOpRef,
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
): { data: Float32Array; shape: number[] } {
  const shape = broadcastShapeRef(aShape, bShape);
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    data[i] = BINARY[op](at(a, aShape, shape, idx), at(b, bShape, shape, idx));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { data, shape };
}

export type UnaryOpRef = 'abs' | 'relu' | 'exp' | 'log' | 'sqrt' | 'tanh' | 'neg';

export const UNARY: Record<UnaryOpRef, (v: number) => number> = {
  abs: Math.abs,
  relu: (v) => (v > 0 ? v : 0),
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  tanh: Math.tanh,
  neg: (v) => -v,
};

export function mapRef(x: Float32Array, f: (v: number) => number): Float32Array {
  return x.map(f);
}

/** torch.pow for a float base and a scalar exponent. */
export function powRef(v: number, p: number): number {
  if (p === 0) return 1;
  return Math.pow(v, p); // JS agrees with PyTorch: 0^p = 0 (p > 0) or inf (p < 0); negative base NaN unless p is an integer
}
