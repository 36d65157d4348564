/**
 * k nearest neighbours in feature space. The (Q, N) distance matrix is computed on the GPU: one matmul
 * for the cross term q.x, the norms by reductions, the rest elementwise; only the matrix comes back,
 * and the top-k selection runs on the host.
 */
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { affine, binary, clamp, unary } from '../kernels/elementwise.js';
import { matmul } from '../kernels/matmul.js';
import { reduce } from '../kernels/reduce.js';
import { FeatureInputError } from './errors.js';
import { scoped } from '../gpu/scopes.js';

/** Distance between feature vectors: Euclidean, or cosine distance (1 - cosine similarity). */
export type Metric = 'euclidean' | 'cosine';
/** Every {@link Metric}, for validation and help texts. */
export const METRICS: readonly Metric[] = ['euclidean', 'cosine'];

/** Validates a metric name (e.g. a CLI flag), listing the valid ones when it is wrong. */
export function parseMetric(text: string): Metric {
  if ((METRICS as readonly string[]).includes(text)) return text as Metric;
  throw new FeatureInputError(`unknown metric "${text}"; use ${METRICS.join(' or ')}`);
}

/** Row L2 norms (R, D) -> (R, 1), at least `floor` so cosine never divides by zero. */
function rowNorms(e: Engine, x: Tensor, floor: number): Tensor {
  const sq = binary(e, 'mul', x, x);
  const sum = reduce(e, 'sum', sq, [1], true);
  const n = unary(e, 'sqrt', sum);
  const out = clamp(e, n, floor, 3.4e38);
  e.releaseAll(sq, sum, n);
  return out;
}

/**
 * Distances (Q, N) between the rows of q (Q, D) and x (N, D), owned by the caller.
 * euclidean: sqrt(max(0, |q|^2 - 2 q.x + |x|^2)); cosine: 1 - q.x / (|q| |x|) (a zero vector counts as
 * orthogonal to everything: distance 1).
 */
export const pairwiseDistances = scoped(function pairwiseDistances(e: Engine, q: Tensor, x: Tensor, metric: Metric): Tensor {
  if (q.rank !== 2 || x.rank !== 2 || q.shape[1] !== x.shape[1]) {
    throw new FeatureInputError(`pairwiseDistances: expected (Q, D) and (N, D), got [${q.shape.join(', ')}] and [${x.shape.join(', ')}]`);
  }
  const N = x.shape[0];
  const cross = matmul(e, q, x, { transposeB: true }); // (Q, N)
  const qn = rowNorms(e, q, metric === 'cosine' ? 1e-30 : 0); // (Q, 1)
  const xn = rowNorms(e, x, metric === 'cosine' ? 1e-30 : 0).reshape([1, N]); // (1, N)
  let out: Tensor;
  if (metric === 'cosine') {
    const a = binary(e, 'div', cross, qn);
    const cos = binary(e, 'div', a, xn);
    out = affine(e, cos, -1, 1);
    e.releaseAll(a, cos);
  } else {
    const q2 = binary(e, 'mul', qn, qn);
    const x2 = binary(e, 'mul', xn, xn);
    const a = affine(e, cross, -2, 0);
    const b = binary(e, 'add', a, q2);
    const sq = binary(e, 'add', b, x2);
    const pos = clamp(e, sq, 0, 3.4e38);
    out = unary(e, 'sqrt', pos);
    e.releaseAll(q2, x2, a, b, sq, pos);
  }
  e.releaseAll(cross, qn, xn);
  return out;
});

/** The k nearest rows of the set for each query, nearest first. */
export interface Neighbours {
  /** Row i of `indices`/`distances`: the query's k nearest rows of the set, nearest first. */
  indices: Int32Array[];
  distances: Float32Array[];
}

/** The k smallest of one row (ties: lower index first), skipping `skip`. */
export function topKSmallest(row: Float32Array, k: number, skip = -1): { indices: Int32Array; distances: Float32Array } {
  const idx: number[] = [];
  for (let j = 0; j < row.length; j++) {
    if (j === skip) continue;
    const v = row[j];
    if (idx.length === k && !(v < row[idx[k - 1]])) continue;
    let i = idx.length;
    while (i > 0 && row[idx[i - 1]] > v) i--;
    idx.splice(i, 0, j);
    if (idx.length > k) idx.pop();
  }
  return { indices: Int32Array.from(idx), distances: Float32Array.from(idx, (j) => row[j]) };
}

/** Options of {@link nearestNeighbours}. */
export interface NeighbourOptions {
  k?: number;
  metric?: Metric;
  /** Queries are rows of the set: never list a query as its own neighbour. Default true. */
  excludeSelf?: boolean;
  /** Queries per GPU distance block; default 256. */
  blockSize?: number;
}

/**
 * The k nearest rows of `features` (N, D) for each query row index, by GPU distance matrix.
 */
export const nearestNeighbours = scoped(async function nearestNeighbours(
  e: Engine,
  features: Float32Array,
  dim: number,
  queries: readonly number[],
  opts: NeighbourOptions = {},
): Promise<Neighbours> {
  const k = opts.k ?? 8;
  const metric = opts.metric ?? 'euclidean';
  const excludeSelf = opts.excludeSelf ?? true;
  const N = features.length / dim;
  if (!Number.isInteger(N) || N < 1) throw new FeatureInputError(`features of length ${features.length} are not rows of ${dim}`);
  for (const q of queries)
    if (!Number.isInteger(q) || q < 0 || q >= N) throw new FeatureInputError(`query ${q} is out of range: the set has rows 0..${N - 1}`);
  const available = N - (excludeSelf ? 1 : 0);
  if (!Number.isInteger(k) || k < 1 || k > available) throw new FeatureInputError(`k must be 1..${available} for a set of ${N}, got ${k}`);
  const x = e.upload(features, [N, dim], 'knn.set');
  const out: Neighbours = { indices: [], distances: [] };
  const block = opts.blockSize ?? 256;
  try {
    for (let s = 0; s < queries.length; s += block) {
      const qs = queries.slice(s, s + block);
      const qData = new Float32Array(qs.length * dim);
      qs.forEach((qi, r) => qData.set(features.subarray(qi * dim, (qi + 1) * dim), r * dim));
      const q = e.upload(qData, [qs.length, dim], 'knn.queries');
      const d = pairwiseDistances(e, q, x, metric);
      const dist = await d.readF32();
      e.releaseAll(q, d);
      qs.forEach((qi, r) => {
        const best = topKSmallest(dist.subarray(r * N, (r + 1) * N), k, excludeSelf ? qi : -1);
        out.indices.push(best.indices);
        out.distances.push(best.distances);
      });
    }
  } finally {
    e.release(x);
  }
  return out;
});
