import { KernelInputError } from '../gpu/errors.js';

/** Path-integral rules for Integrated Gradients, named as Captum names them. */
export const QUADRATURE_RULES = ['riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid', 'gausslegendre'] as const;
/** One of {@link QUADRATURE_RULES}. */
export type QuadratureRule = (typeof QUADRATURE_RULES)[number];

export function parseQuadratureRule(name: string): QuadratureRule {
  if (!(QUADRATURE_RULES as readonly string[]).includes(name))
    throw new KernelInputError(`unknown integration rule "${name}"; one of ${QUADRATURE_RULES.join(', ')}`);
  return name as QuadratureRule;
}

/**
 * Nodes alpha_k in [0, 1] and weights w_k with sum_k w_k f(alpha_k) ~ integral_0^1 f, as Captum's
 * approximation_methods: Riemann sums at the left, right or middle of n equal steps; the trapezoid rule on
 * n points including both ends (n >= 2); Gauss-Legendre on n points mapped from [-1, 1].
 */
export function quadrature(rule: QuadratureRule, n: number): { alphas: number[]; weights: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new KernelInputError(`integration steps must be a positive integer, got ${n}`);
  const idx = Array.from({ length: n }, (_, k) => k);
  switch (rule) {
    case 'riemann_left':
      return { alphas: idx.map((k) => k / n), weights: idx.map(() => 1 / n) };
    case 'riemann_right':
      return { alphas: idx.map((k) => (k + 1) / n), weights: idx.map(() => 1 / n) };
    case 'riemann_middle':
      return { alphas: idx.map((k) => (k + 0.5) / n), weights: idx.map(() => 1 / n) };
    case 'riemann_trapezoid':
      if (n < 2) throw new KernelInputError('the trapezoid rule needs at least 2 steps');
      return { alphas: idx.map((k) => k / (n - 1)), weights: idx.map((k) => (k === 0 || k === n - 1 ? 0.5 : 1) / (n - 1)) };
    case 'gausslegendre': {
      const { nodes, weights } = gaussLegendre(n);
      return { alphas: nodes.map((x) => 0.5 * (1 + x)), weights: weights.map((w) => 0.5 * w) };
    }
  }
}

/** Gauss-Legendre nodes (ascending) and weights on [-1, 1]: Newton's method on P_n from Chebyshev guesses. */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const { p, dp } = legendre(n, x);
      const dx = p / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    const { dp } = legendre(n, x);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

/** P_n(x) and P_n'(x) by the three-term recurrence (|x| < 1). */
function legendre(n: number, x: number): { p: number; dp: number } {
  let prev = 1;
  let p = x;
  for (let k = 2; k <= n; k++) [prev, p] = [p, ((2 * k - 1) * x * p - (k - 1) * prev) / k];
  return { p, dp: (n * (x * p - prev)) / (x * x - 1) };
}
