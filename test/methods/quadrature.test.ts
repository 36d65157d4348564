import { describe, expect, it } from 'vitest';
import { gaussLegendre, QUADRATURE_RULES, quadrature } from '../../src/methods/quadrature.js';

describe('integration rules for Integrated Gradients', () => {
  it('Gauss-Legendre nodes and weights match the closed forms for n = 2, 3', () => {
    const two = gaussLegendre(2);
    expect(two.nodes[1]).toBeCloseTo(1 / Math.sqrt(3), 15);
    expect(two.weights).toEqual([expect.closeTo(1, 15), expect.closeTo(1, 15)]);
    const three = gaussLegendre(3);
    expect(three.nodes[0]).toBeCloseTo(-Math.sqrt(3 / 5), 15);
    expect(three.nodes[1]).toBeCloseTo(0, 15);
    expect(three.weights[0]).toBeCloseTo(5 / 9, 15);
    expect(three.weights[1]).toBeCloseTo(8 / 9, 15);
  });

  it('every rule integrates what it should exactly, and converges on exp', () => {
    const integrate = (rule: (typeof QUADRATURE_RULES)[number], n: number, f: (a: number) => number) => {
      const { alphas, weights } = quadrature(rule, n);
      return alphas.reduce((s, a, k) => s + weights[k] * f(a), 0);
    };
    for (const rule of QUADRATURE_RULES) {
      expect(
        integrate(rule, 7, () => 1),
        `${rule}: weights sum to 1`,
      ).toBeCloseTo(1, 14);
      expect(integrate(rule, 2000, Math.exp), `${rule}: integral of exp on [0, 1]`).toBeCloseTo(Math.E - 1, 3);
    }
    // Midpoint and trapezoid are exact for linear integrands; Gauss-Legendre on n points for degree 2n - 1.
    expect(integrate('riemann_middle', 5, (a) => 3 * a + 1)).toBeCloseTo(2.5, 14);
    expect(integrate('riemann_trapezoid', 5, (a) => 3 * a + 1)).toBeCloseTo(2.5, 14);
    expect(integrate('gausslegendre', 4, (a) => a ** 7)).toBeCloseTo(1 / 8, 14);
    // Right and left Riemann sums bracket an increasing integrand.
    expect(integrate('riemann_right', 10, Math.exp)).toBeGreaterThan(Math.E - 1);
    expect(integrate('riemann_left', 10, Math.exp)).toBeLessThan(Math.E - 1);
    expect(quadrature('riemann_right', 4).alphas).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('refuses bad input', () => {
    expect(() => quadrature('riemann_trapezoid', 1)).toThrow(/at least 2/);
    expect(() => quadrature('gausslegendre', 0)).toThrow(/positive integer/);
  });
});
