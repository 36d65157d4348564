import { describe, expect, it } from 'vitest';
import { EtaEstimator, formatDuration, type PlannedStep } from '../../src/util/eta.js';

/** An estimator on a clock the test moves by hand. */
function withClock(steps: PlannedStep[]) {
  let t = 0;
  const eta = new EtaEstimator(steps, () => t);
  return { eta, advance: (s: number) => (t += s) };
}

describe('time left for unequal steps', () => {
  it('says nothing before anything is measured', () => {
    const { eta, advance } = withClock([{ kind: 'a', cost: 1 }]);
    advance(5);
    eta.update(0);
    expect(eta.snapshot().left).toBeNull();
  });

  it('weights steps by their cost: a long last step is never "80 % done, 1 s left"', () => {
    // Four quick steps of cost 1 (1 s each), then one of cost 400.
    const steps = [...Array.from({ length: 4 }, () => ({ kind: 'quick', cost: 1 })), { kind: 'slow', cost: 400 }];
    const { eta, advance } = withClock(steps);
    for (let i = 0; i < 4; i++) {
      advance(1);
      eta.update(i + 1);
    }
    const s = eta.snapshot();
    // 4 steps of 5 are done, but only 4 s of an expected 404 s.
    expect(s.left).toBeCloseTo(400, 6);
    expect(s.fraction).toBeLessThan(0.02);
  });

  it("follows the running step's own progress once it reports some", () => {
    const { eta, advance } = withClock([
      { kind: 'a', cost: 1 },
      { kind: 'b', cost: 1 },
    ]);
    advance(2);
    eta.update(1); // 'a' took 2 s, so 'b' is expected to take 2 s
    advance(3);
    eta.update(1, 0.25); // but a quarter of 'b' took 3 s: 9 s to go
    expect(eta.snapshot().left).toBeCloseTo(9, 6);
    expect(eta.snapshot().atLeast).toBe(false);
  });

  it('expects a kind it has measured to take that long again (evaluate: one method per image)', () => {
    const steps = [
      { kind: 'fast', cost: 1 },
      { kind: 'slow', cost: 1 },
      { kind: 'fast', cost: 1 },
      { kind: 'slow', cost: 1 },
    ];
    const { eta, advance } = withClock(steps);
    advance(1);
    eta.update(1);
    advance(9);
    eta.update(2);
    // Equal priors, but measured: fast 1 s and slow 9 s.
    expect(eta.snapshot().left).toBeCloseTo(10, 6);
  });

  it('marks the time left as a lower bound when a silent step outlasts its expectation', () => {
    const { eta, advance } = withClock([
      { kind: 'a', cost: 1 },
      { kind: 'b', cost: 1 },
      { kind: 'c', cost: 1 },
    ]);
    advance(1);
    eta.update(1);
    advance(5);
    eta.update(1);
    const s = eta.snapshot();
    expect(s.atLeast).toBe(true);
    expect(s.left).toBeCloseTo(1, 6);
  });

  it('ends at 100 % and rejects non-positive costs', () => {
    const { eta, advance } = withClock([{ kind: 'a', cost: 2 }]);
    advance(1);
    eta.finish();
    expect(eta.snapshot()).toMatchObject({ left: 0, fraction: 1 });
    expect(() => new EtaEstimator([{ kind: 'x', cost: 0 }])).toThrow(/step "x" has cost 0/);
  });

  it('formats durations', () => {
    expect([formatDuration(4.4), formatDuration(185), formatDuration(3720)]).toEqual(['4s', '3m 05s', '1h 02m']);
  });
});
