/**
 * t-SNE (van der Maaten & Hinton 2008), exact O(N^2) gradient, on the host in float64; fine up to a few
 * thousand points. Follows the reference implementation (tsne.py) and scikit-learn's exact method:
 *   - PCA to 50 dimensions first when wider (approximate leading subspace: 8 subspace iterations);
 *   - per point, a binary search on beta = 1 / (2 sigma^2) so the conditional distribution over squared
 *     Euclidean distances has entropy log(perplexity) (nats), tolerance 1e-5, at most 100 steps;
 *   - P = (P + P^T) / sum, floored at 1e-12;
 *   - Student-t similarities in 2-D, gradient 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j);
 *   - gradient descent with momentum 0.5 and P multiplied by the early exaggeration (12) for the first
 *     250 iterations, then momentum 0.8; per-coordinate gains (+0.2 when the gradient flips sign
 *     against the last update, x0.8 otherwise, floored at 0.01); learning rate 'auto' = max(N / 12 / 4, 50);
 *   - seeded random start, N(0, 1e-4^2).
 */
import { gaussianRandom } from '../util/random.js';
import { FeatureInputError } from './errors.js';
import { pca } from './pca.js';

const EPS = 1e-12;

/** Options of {@link tsne}; the defaults are scikit-learn's (perplexity 30, early exaggeration 12, learning rate "auto"). */
export interface TsneOptions {
  perplexity?: number;
  earlyExaggeration?: number;
  /** Total iterations, default 1000 (tests use fewer). */
  iterations?: number;
  /** Iterations with exaggeration and the initial momentum; default 250 (capped at `iterations`). */
  exaggerationIterations?: number;
  learningRate?: number | 'auto';
  /** PCA to this many dimensions first when the data has more; default 50; 0 keeps the data as is. */
  pcaDims?: number;
  /** 'random' (default, seeded N(0, 1e-4^2)) or 'pca' (first two components scaled to std 1e-4). */
  init?: 'random' | 'pca';
  seed?: number;
  /** Called every `progressEvery` iterations and at the end, with the current KL(P || Q) (unexaggerated P). */
  onProgress?: (iteration: number, total: number, kl: number) => void;
  progressEvery?: number;
}

/** A 2-D t-SNE embedding and how it was reached. */
export interface TsneResult {
  /** (N, 2) row-major. */
  embedding: Float64Array;
  /** KL(P || Q) at the end (without exaggeration). */
  kl: number;
  iterations: number;
  learningRate: number;
  perplexity: number;
}

/** Squared Euclidean distances (N, N) between rows of x (N, d). */
export function squaredDistances(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = x[i * d + t] - x[j * d + t];
        s += v * v;
      }
      D[i * n + j] = D[j * n + i] = s;
    }
  }
  return D;
}

/**
 * Conditional affinities p_{j|i} (N, N) whose rows have perplexity `perplexity`, by binary search on
 * beta per row. Returns them with the betas found.
 */
export function conditionalAffinities(
  D: Float64Array,
  n: number,
  perplexity: number,
  tolerance = 1e-5,
  maxSteps = 100,
): { P: Float64Array; beta: Float64Array } {
  if (!(perplexity > 0) || perplexity >= n)
    throw new FeatureInputError(`perplexity must be in (0, ${n}) for ${n} points, got ${perplexity}`);
  const P = new Float64Array(n * n);
  const betas = new Float64Array(n);
  const target = Math.log(perplexity);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Shifting a row's distances by its minimum leaves P and the entropy unchanged and avoids exp underflow.
    let min = Infinity;
    for (let j = 0; j < n; j++) if (j !== i && D[i * n + j] < min) min = D[i * n + j];
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let step = 0; step < maxSteps; step++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        row[j] = j === i ? 0 : Math.exp(-(D[i * n + j] - min) * beta);
        sum += row[j];
      }
      if (sum === 0) sum = 1e-300;
      let weighted = 0;
      for (let j = 0; j < n; j++) {
        row[j] /= sum;
        weighted += (D[i * n + j] - min) * row[j];
      }
      const entropy = Math.log(sum) + beta * weighted;
      const diff = entropy - target;
      if (Math.abs(diff) <= tolerance) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    P.set(row, i * n);
    betas[i] = beta;
  }
  return { P, beta: betas };
}

/** Symmetric joint probabilities: (P + P^T) / sum, floored at 1e-12. */
export function jointProbabilities(conditional: Float64Array, n: number): Float64Array {
  const P = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = conditional[i * n + j] + conditional[j * n + i];
      P[i * n + j] = P[j * n + i] = v;
      sum += 2 * v;
    }
  }
  sum = Math.max(sum, EPS);
  for (let i = 0; i < n * n; i++) P[i] = Math.max(P[i] / sum, EPS);
  for (let i = 0; i < n; i++) P[i * n + i] = 0;
  return P;
}

/**
 * One evaluation: KL divergence and its gradient (into `grad`) for embedding y (N, 2), with P scaled by
 * `exaggeration`. `W` is scratch (N, N).
 */
function klGradient(
  P: Float64Array,
  y: Float64Array,
  n: number,
  exaggeration: number,
  W: Float64Array,
  grad: Float64Array,
  wantKl: boolean,
): number {
  let sumW = 0;
  for (let i = 0; i < n; i++) {
    const yi0 = y[2 * i];
    const yi1 = y[2 * i + 1];
    for (let j = i + 1; j < n; j++) {
      const d0 = yi0 - y[2 * j];
      const d1 = yi1 - y[2 * j + 1];
      const w = 1 / (1 + d0 * d0 + d1 * d1);
      W[i * n + j] = w;
      sumW += w;
    }
  }
  const invQ = 1 / (2 * sumW);
  grad.fill(0);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    const yi0 = y[2 * i];
    const yi1 = y[2 * i + 1];
    let g0 = 0;
    let g1 = 0;
    for (let j = i + 1; j < n; j++) {
      const w = W[i * n + j];
      const q = Math.max(w * invQ, EPS);
      const p0 = P[i * n + j];
      const p = p0 * exaggeration;
      const f = (p - q) * w;
      const d0 = yi0 - y[2 * j];
      const d1 = yi1 - y[2 * j + 1];
      g0 += f * d0;
      g1 += f * d1;
      grad[2 * j] -= f * d0;
      grad[2 * j + 1] -= f * d1;
      // The objective proper: KL against the unexaggerated P.
      if (wantKl) kl += 2 * p0 * Math.log(Math.max(p0, EPS) / q);
    }
    grad[2 * i] += g0;
    grad[2 * i + 1] += g1;
  }
  for (let i = 0; i < 2 * n; i++) grad[i] *= 4;
  return kl;
}

/**
 * t-SNE (van der Maaten and Hinton 2008) of `count` rows of `dim` values to 2-D, exact gradients, seeded: the same input and options
 * give the same embedding.
 */
export function tsne(data: ArrayLike<number>, count: number, dim: number, opts: TsneOptions = {}): TsneResult {
  if (data.length !== count * dim) throw new FeatureInputError(`tsne: ${data.length} values are not ${count} x ${dim}`);
  const n = count;
  const perplexity = opts.perplexity ?? 30;
  if (n < 4) throw new FeatureInputError(`t-SNE needs at least 4 points, got ${n}`);
  if (perplexity >= n)
    throw new FeatureInputError(`perplexity ${perplexity} must be below the number of points (${n}); pass a smaller perplexity`);
  const exaggeration = opts.earlyExaggeration ?? 12;
  const iterations = opts.iterations ?? 1000;
  const exploreIters = Math.min(iterations, opts.exaggerationIterations ?? 250);
  const learningRate =
    opts.learningRate === undefined || opts.learningRate === 'auto' ? Math.max(n / exaggeration / 4, 50) : opts.learningRate;
  const pcaDims = opts.pcaDims ?? 50;
  const every = opts.progressEvery ?? 50;

  // Input: PCA-reduced when wide (the reference implementation's first step).
  let x: ArrayLike<number> = data;
  let d = dim;
  if (pcaDims > 0 && dim > pcaDims) {
    // The leading subspace is what matters here, not converged individual components.
    const r = pca(data, n, dim, pcaDims, { maxIterations: 8 });
    x = r.projections;
    d = r.k;
  }
  const P = jointProbabilities(conditionalAffinities(squaredDistances(x, n, d), n, perplexity).P, n);

  const y = new Float64Array(2 * n);
  if (opts.init === 'pca') {
    const r = pca(x, n, d, 2);
    let sd = 0;
    for (let i = 0; i < n; i++) sd += r.projections[2 * i] ** 2;
    sd = Math.sqrt(sd / n) || 1;
    for (let i = 0; i < 2 * n; i++) y[i] = (r.projections[i] / sd) * 1e-4;
  } else {
    const rnd = gaussianRandom(opts.seed ?? 0);
    for (let i = 0; i < 2 * n; i++) y[i] = 1e-4 * rnd();
  }

  const W = new Float64Array(n * n);
  const grad = new Float64Array(2 * n);
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  let kl = NaN;
  for (let it = 0; it < iterations; it++) {
    const exploring = it < exploreIters;
    const momentum = exploring ? 0.5 : 0.8;
    const report = (it + 1) % every === 0 || it === iterations - 1;
    kl = klGradient(P, y, n, exploring ? exaggeration : 1, W, grad, report);
    for (let i = 0; i < 2 * n; i++) {
      const g = grad[i];
      // Increase the gain where the gradient opposes the last step (still descending the same way).
      gains[i] = update[i] * g < 0 ? gains[i] + 0.2 : Math.max(gains[i] * 0.8, 0.01);
      update[i] = momentum * update[i] - learningRate * gains[i] * g;
      y[i] += update[i];
    }
    if (report) opts.onProgress?.(it + 1, iterations, kl);
  }
  if (exploreIters === iterations) kl = klGradient(P, y, n, 1, W, grad, true);
  // Centre the map (the reference re-centres every step; the objective is translation invariant).
  let m0 = 0;
  let m1 = 0;
  for (let i = 0; i < n; i++) {
    m0 += y[2 * i];
    m1 += y[2 * i + 1];
  }
  for (let i = 0; i < n; i++) {
    y[2 * i] -= m0 / n;
    y[2 * i + 1] -= m1 / n;
  }
  return { embedding: y, kl, iterations, learningRate, perplexity };
}

/**
 * Trustworthiness (Venna & Kaski; scikit-learn's definition) of an embedding: 1 means every point's
 * k nearest neighbours in the embedding are among its k nearest in the original space.
 */
export function trustworthiness(x: ArrayLike<number>, y: ArrayLike<number>, n: number, dx: number, dy: number, k = 5): number {
  if (k >= n / 2) throw new FeatureInputError(`trustworthiness: k (${k}) must be below n / 2 (${n / 2})`);
  const DX = squaredDistances(x, n, dx);
  const DY = squaredDistances(y, n, dy);
  let penalty = 0;
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    others.sort((a, b) => DX[i * n + a] - DX[i * n + b] || a - b);
    others.forEach((j, r) => (rank[j] = r + 1));
    const nearY = Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== i)
      .sort((a, b) => DY[i * n + a] - DY[i * n + b] || a - b)
      .slice(0, k);
    for (const j of nearY) penalty += Math.max(0, rank[j] - k);
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}
