import { describe, expect, it } from 'vitest';
import { pca } from '../../src/features/pca.js';
import { conditionalAffinities, squaredDistances, trustworthiness, tsne } from '../../src/features/tsne.js';
import { gaussianRandom } from '../../src/util/random.js';

/** Data (n, d) with a chosen spectrum: z ~ N(0, diag(scales^2)) rotated by a random orthogonal matrix, plus a mean. */
function anisotropic(n: number, d: number, scales: number[], seed: number): Float64Array {
  const g = gaussianRandom(seed);
  // Random orthogonal basis: Gram-Schmidt on Gaussian vectors.
  const R = Float64Array.from({ length: d * d }, () => g());
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let t = 0; t < d; t++) dot += R[i * d + t] * R[j * d + t];
      for (let t = 0; t < d; t++) R[i * d + t] -= dot * R[j * d + t];
    }
    let norm = 0;
    for (let t = 0; t < d; t++) norm += R[i * d + t] ** 2;
    for (let t = 0; t < d; t++) R[i * d + t] /= Math.sqrt(norm);
  }
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const z = g() * (scales[j] ?? 0.05);
      for (let t = 0; t < d; t++) X[i * d + t] += z * R[j * d + t];
    }
    for (let t = 0; t < d; t++) X[i * d + t] += 3 + t * 0.1;
  }
  return X;
}

/** CPU reference: sample covariance, then power iteration with deflation, all written out plainly. */
function referencePca(X: Float64Array, n: number, d: number, k: number): { values: number[]; vectors: Float64Array[] } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += X[i * d + t] / n;
  const C = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]);
      C[a * d + b] = s / (n - 1);
    }
  }
  const values: number[] = [];
  const vectors: Float64Array[] = [];
  for (let c = 0; c < k; c++) {
    let v = Float64Array.from({ length: d }, (_, t) => 1 + ((t * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < 1000; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += C[a * d + b] * v[b];
      let norm = 0;
      for (let a = 0; a < d; a++) norm += w[a] * w[a];
      norm = Math.sqrt(norm);
      const next = w.map((x) => x / norm);
      let change = 0;
      for (let a = 0; a < d; a++) change = Math.max(change, Math.abs(next[a] - v[a]));
      lambda = norm;
      v = next;
      if (change < 1e-13) break;
    }
    values.push(lambda);
    vectors.push(v);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a * d + b] -= lambda * v[a] * v[b];
  }
  return { values, vectors };
}

describe('PCA matches a CPU reference (power iteration with deflation)', () => {
  const cases: [name: string, n: number, d: number][] = [
    ['covariance + Jacobi (D = 20)', 300, 20],
    ['covariance + subspace iteration (D = 300)', 400, 300],
    ['Gram matrix (N = 80 < D = 120)', 80, 120],
  ];
  for (const [name, n, d] of cases) {
    it(name, () => {
      const scales = [10, 6, 4, 2.5, 1.5];
      const X = anisotropic(n, d, scales, n + d);
      const k = 4;
      const got = pca(X, n, d, k);
      const ref = referencePca(X, n, d, k);
      let total = 0;
      const mean = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mean[t] += X[i * d + t] / n;
      for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) total += (X[i * d + t] - mean[t]) ** 2 / (n - 1);
      for (let c = 0; c < k; c++) {
        expect(got.explainedVariance[c]).toBeCloseTo(ref.values[c], 6);
        expect(got.explainedVarianceRatio[c]).toBeCloseTo(ref.values[c] / total, 8);
        // Components and projections agree up to sign.
        const comp = got.components.subarray(c * d, (c + 1) * d);
        let dot = 0;
        for (let t = 0; t < d; t++) dot += comp[t] * ref.vectors[c][t];
        expect(Math.abs(dot), `component ${c}`).toBeGreaterThan(1 - 1e-8);
        const sign = Math.sign(dot);
        let worst = 0;
        for (let i = 0; i < n; i++) {
          let p = 0;
          for (let t = 0; t < d; t++) p += (X[i * d + t] - mean[t]) * ref.vectors[c][t];
          worst = Math.max(worst, Math.abs(got.projections[i * k + c] - sign * p));
        }
        expect(worst, `projection ${c}`).toBeLessThan(1e-6 * scales[0]);
      }
    });
  }
});

describe('t-SNE', () => {
  it('binary search gives every point the requested perplexity', () => {
    const n = 120;
    const X = anisotropic(n, 10, [3, 2, 1], 5);
    const { P } = conditionalAffinities(squaredDistances(X, n, 10), n, 30);
    for (let i = 0; i < n; i++) {
      let h = 0;
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const p = P[i * n + j];
        sum += p;
        if (p > 0) h -= p * Math.log(p);
      }
      expect(sum).toBeCloseTo(1, 10);
      expect(Math.exp(h)).toBeCloseTo(30, 2);
    }
  });

  it('keeps well-separated Gaussian clusters apart (trustworthiness >= 0.9, neighbours share their cluster)', () => {
    const clusters = 3;
    const per = 50;
    const n = clusters * per;
    const d = 20;
    const g = gaussianRandom(11);
    const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => 8 * g()));
    const X = new Float64Array(n * d);
    const label = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      label[i] = i % clusters;
      for (let t = 0; t < d; t++) X[i * d + t] = centres[label[i]][t] + g();
    }
    const t0 = performance.now();
    const { embedding, kl } = tsne(X, n, d, { iterations: 400, exaggerationIterations: 100, seed: 1 });
    const ms = performance.now() - t0;
    const trust = trustworthiness(X, embedding, n, d, 2, 5);
    // Each point's 5 nearest neighbours in the map come from its own cluster.
    const DY = squaredDistances(embedding, n, 2);
    let same = 0;
    for (let i = 0; i < n; i++) {
      const near = Array.from({ length: n }, (_, j) => j)
        .filter((j) => j !== i)
        .sort((a, b) => DY[i * n + a] - DY[i * n + b])
        .slice(0, 5);
      same += near.filter((j) => label[j] === label[i]).length;
    }
    console.log(
      `t-SNE n=${n}: ${ms.toFixed(0)} ms, KL ${kl.toFixed(3)}, trustworthiness ${trust.toFixed(4)}, neighbour purity ${(same / (5 * n)).toFixed(4)}`,
    );
    expect(trust).toBeGreaterThanOrEqual(0.9);
    expect(same / (5 * n)).toBeGreaterThanOrEqual(0.99);
    expect(Number.isFinite(kl)).toBe(true);
  });

  it('trustworthiness is low for an embedding that scrambles neighbours', () => {
    const n = 100;
    const X = anisotropic(n, 5, [3, 3, 3, 3, 3], 3);
    const g = gaussianRandom(4);
    const Y = Float64Array.from({ length: 2 * n }, () => g());
    expect(trustworthiness(X, Y, n, 5, 2, 5)).toBeLessThan(0.7);
  });

  it('is reproducible for a seed', () => {
    const n = 40;
    const X = anisotropic(n, 6, [2, 1], 9);
    const a = tsne(X, n, 6, { perplexity: 10, iterations: 60, seed: 3 }).embedding;
    const b = tsne(X, n, 6, { perplexity: 10, iterations: 60, seed: 3 }).embedding;
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
