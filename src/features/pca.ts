/**
 * Principal component analysis on the host, in float64.
 * Centre, then the top-k eigenpairs of the smaller of the covariance (D x D) and the Gram matrix
 * (N x N; components recovered as X^T u / sqrt((N-1) lambda)). Eigenpairs: cyclic Jacobi for matrices up
 * to JACOBI_MAX, else block subspace iteration with Rayleigh-Ritz (Jacobi on the small projected matrix),
 * which needs only the top k + oversampling vectors of a 2048 x 2048 covariance.
 */
import { FeatureInputError } from './errors.js';

const JACOBI_MAX = 256;

/** Principal components of a data matrix and the data projected on them. */
export interface PcaResult {
  /** (k, D) row-major, unit rows; the sign makes each component's largest-magnitude entry positive. */
  components: Float64Array;
  /** Variance along each component (eigenvalues of the covariance, divisor N - 1), descending. */
  explainedVariance: Float64Array;
  /** explainedVariance / total variance. */
  explainedVarianceRatio: Float64Array;
  /** (D) mean that was removed. */
  mean: Float64Array;
  /** (N, k) row-major coordinates of the centred data on the components. */
  projections: Float64Array;
  k: number;
  dim: number;
  count: number;
}

/**
 * Eigen-decomposition of a symmetric (n, n) matrix by cyclic Jacobi rotations.
 * Returns eigenvalues descending and eigenvectors as the rows of `vectors` (n, n).
 */
export function jacobiEigen(a: Float64Array, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += A[p * n + p] ** 2;
      for (let q = p + 1; q < n; q++) off += A[p * n + q] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        // Rotation angle that zeroes A[p][q] (Golub & Van Loan, sym.schur2).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < n; r++) {
          const arp = A[r * n + p];
          const arq = A[r * n + q];
          A[r * n + p] = c * arp - s * arq;
          A[r * n + q] = s * arp + c * arq;
        }
        for (let r = 0; r < n; r++) {
          const apr = A[p * n + r];
          const aqr = A[q * n + r];
          A[p * n + r] = c * apr - s * aqr;
          A[q * n + r] = s * apr + c * aqr;
        }
        // Eigenvectors are the columns of the accumulated rotation; kept as rows of V for locality.
        for (let r = 0; r < n; r++) {
          const vpr = V[p * n + r];
          const vqr = V[q * n + r];
          V[p * n + r] = c * vpr - s * vqr;
          V[q * n + r] = s * vpr + c * vqr;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j] - A[i * n + i]);
  const values = Float64Array.from(order, (i) => A[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((i, r) => vectors.set(V.subarray(i * n, (i + 1) * n), r * n));
  return { values, vectors };
}

/** In-place modified Gram-Schmidt (twice, for stability) on the rows of Q (p, n); a row that vanishes is redrawn. */
function orthonormaliseRows(Q: Float64Array, p: number, n: number): void {
  let redraws = 0;
  for (let i = 0; i < p; i++) {
    const qi = Q.subarray(i * n, (i + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const qj = Q.subarray(j * n, (j + 1) * n);
        let d = 0;
        for (let r = 0; r < n; r++) d += qi[r] * qj[r];
        for (let r = 0; r < n; r++) qi[r] -= d * qj[r];
      }
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += qi[r] * qi[r];
    norm = Math.sqrt(norm);
    if (norm < 1e-150 && redraws < 10 * p) {
      qi.set(startVectors(1, n, ++redraws));
      i--;
      continue;
    }
    for (let r = 0; r < n; r++) qi[r] = norm > 0 ? qi[r] / norm : 0;
  }
}

/** rows (p, n) = rows of Q (p, n) times symmetric A (n, n). */
function rowsTimesSym(Q: Float64Array, A: Float64Array, p: number, n: number): Float64Array {
  const out = new Float64Array(p * n);
  for (let i = 0; i < p; i++) {
    const o = out.subarray(i * n, (i + 1) * n);
    for (let r = 0; r < n; r++) {
      const q = Q[i * n + r];
      if (q === 0) continue;
      const row = A.subarray(r * n, (r + 1) * n);
      for (let c = 0; c < n; c++) o[c] += q * row[c];
    }
  }
  return out;
}

/** A deterministic pseudo-random start (no shared RNG state). */
function startVectors(p: number, n: number, seed = 0): Float64Array {
  const Q = new Float64Array(p * n);
  let s = (0x9e3779b9 + Math.imul(seed, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < Q.length; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    Q[i] = s / 4294967296 - 0.5;
  }
  return Q;
}

/**
 * The top-k eigenpairs of a symmetric positive semi-definite (n, n) matrix: Jacobi when small, otherwise
 * subspace iteration on k + 10 vectors with Rayleigh-Ritz until the top-k Ritz values settle.
 */
export function topEigen(
  A: Float64Array,
  n: number,
  k: number,
  opts: { maxIterations?: number; tolerance?: number } = {},
): { values: Float64Array; vectors: Float64Array } {
  k = Math.min(k, n);
  if (n <= JACOBI_MAX) {
    const { values, vectors } = jacobiEigen(A, n);
    return { values: values.slice(0, k), vectors: vectors.slice(0, k * n) };
  }
  const p = Math.min(n, k + 10);
  const maxIterations = opts.maxIterations ?? 300;
  const tol = opts.tolerance ?? 1e-10;
  let Q = startVectors(p, n);
  orthonormaliseRows(Q, p, n);
  let prev = new Float64Array(k).fill(Infinity);
  let ritz: { values: Float64Array; vectors: Float64Array };
  for (let it = 0; it < maxIterations; it++) {
    const Z = rowsTimesSym(Q, A, p, n); // rows of A Q
    // Rayleigh-Ritz: B = Q^T A Q (p x p), rotate Q onto B's eigenvectors.
    const B = new Float64Array(p * p);
    for (let i = 0; i < p; i++) {
      for (let j = i; j < p; j++) {
        let d = 0;
        for (let r = 0; r < n; r++) d += Q[i * n + r] * Z[j * n + r];
        B[i * p + j] = B[j * p + i] = d;
      }
    }
    ritz = jacobiEigen(B, p);
    let change = 0;
    for (let i = 0; i < k; i++) change = Math.max(change, Math.abs(ritz.values[i] - prev[i]) / Math.max(Math.abs(ritz.values[0]), 1e-300));
    prev = ritz.values.slice(0, k);
    // Next basis: A Q rotated by the Ritz vectors (one subspace-iteration step).
    const next = new Float64Array(p * n);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) {
        const w = ritz.vectors[i * p + j];
        if (w === 0) continue;
        for (let r = 0; r < n; r++) next[i * n + r] += w * (change < tol ? Q[j * n + r] : Z[j * n + r]);
      }
    }
    if (change < tol) {
      return { values: ritz.values.slice(0, k), vectors: next.slice(0, k * n) };
    }
    orthonormaliseRows(next, p, n);
    Q = next;
  }
  // Not converged within the budget: the last Ritz pairs of the last basis.
  const Z = rowsTimesSym(Q, A, p, n);
  const B = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) for (let r = 0; r < n; r++) B[i * p + j] += Q[i * n + r] * Z[j * n + r];
  ritz = jacobiEigen(B, p);
  const vectors = new Float64Array(k * n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < p; j++) for (let r = 0; r < n; r++) vectors[i * n + r] += ritz.vectors[i * p + j] * Q[j * n + r];
  return { values: ritz.values.slice(0, k), vectors };
}

/** scale * M M^T for M (rows, cols) row-major: four rows at a time so each loaded row of M is used four times. */
export function gramMatrix(M: Float64Array, rows: number, cols: number, scale = 1): Float64Array {
  const G = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    const a = i * cols;
    let j = i;
    for (; j + 3 < rows; j += 4) {
      const b0 = j * cols;
      const b1 = b0 + cols;
      const b2 = b1 + cols;
      const b3 = b2 + cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < cols; t++) {
        const x = M[a + t];
        s0 += x * M[b0 + t];
        s1 += x * M[b1 + t];
        s2 += x * M[b2 + t];
        s3 += x * M[b3 + t];
      }
      G[i * rows + j] = G[j * rows + i] = s0 * scale;
      G[i * rows + j + 1] = G[(j + 1) * rows + i] = s1 * scale;
      G[i * rows + j + 2] = G[(j + 2) * rows + i] = s2 * scale;
      G[i * rows + j + 3] = G[(j + 3) * rows + i] = s3 * scale;
    }
    for (; j < rows; j++) {
      let s0 = 0;
      for (let t = 0; t < cols; t++) s0 += M[a + t] * M[j * cols + t];
      G[i * rows + j] = G[j * rows + i] = s0 * scale;
    }
  }
  return G;
}

/** Options of {@link pca}. */
export interface PcaOptions {
  /**
   * Cap on subspace iterations for large matrices (default 300, to convergence). A handful (8) gives the
   * randomized-SVD approximation of the leading subspace that t-SNE's preprocessing needs.
   */
  maxIterations?: number;
}

/** PCA of `data` (count, dim) to k components. */
export function pca(data: ArrayLike<number>, count: number, dim: number, k = 2, opts: PcaOptions = {}): PcaResult {
  if (data.length !== count * dim) throw new FeatureInputError(`pca: ${data.length} values are not ${count} x ${dim}`);
  if (count < 2) throw new FeatureInputError(`pca needs at least 2 samples, got ${count}`);
  k = Math.min(k, dim, count);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) mean[d] += data[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= count;
  const X = new Float64Array(count * dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) X[i * dim + d] = data[i * dim + d] - mean[d];
  let total = 0;
  for (let i = 0; i < X.length; i++) total += X[i] * X[i];
  total /= count - 1;

  const components = new Float64Array(k * dim);
  let values: Float64Array;
  const eigOpts = { maxIterations: opts.maxIterations };
  if (dim <= count) {
    // Covariance (dim x dim) = Xt Xt^T / (count - 1) with Xt the transposed data, so rows are contiguous.
    const Xt = new Float64Array(dim * count);
    for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) Xt[d * count + i] = X[i * dim + d];
    const eig = topEigen(gramMatrix(Xt, dim, count, 1 / (count - 1)), dim, k, eigOpts);
    values = eig.values;
    components.set(eig.vectors);
  } else {
    // Gram (count x count): components v = X^T u / sqrt((count - 1) lambda).
    const eig = topEigen(gramMatrix(X, count, dim, 1 / (count - 1)), count, k, eigOpts);
    values = eig.values;
    for (let c = 0; c < k; c++) {
      const comp = components.subarray(c * dim, (c + 1) * dim);
      for (let i = 0; i < count; i++) {
        const u = eig.vectors[c * count + i];
        for (let t = 0; t < dim; t++) comp[t] += u * X[i * dim + t];
      }
      let norm = 0;
      for (let t = 0; t < dim; t++) norm += comp[t] * comp[t];
      norm = Math.sqrt(norm);
      for (let t = 0; t < dim; t++) comp[t] = norm > 0 ? comp[t] / norm : 0;
    }
  }
  // Deterministic signs.
  for (let c = 0; c < k; c++) {
    const comp = components.subarray(c * dim, (c + 1) * dim);
    let big = 0;
    for (let t = 1; t < dim; t++) if (Math.abs(comp[t]) > Math.abs(comp[big])) big = t;
    if (comp[big] < 0) for (let t = 0; t < dim; t++) comp[t] = -comp[t];
  }
  const projections = new Float64Array(count * k);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += X[i * dim + t] * components[c * dim + t];
      projections[i * k + c] = s;
    }
  }
  const explainedVariance = Float64Array.from(values, (v) => Math.max(0, v));
  return {
    components,
    explainedVariance,
    explainedVarianceRatio: explainedVariance.map((v) => (total > 0 ? v / total : 0)),
    mean,
    projections,
    k,
    dim,
    count,
  };
}
