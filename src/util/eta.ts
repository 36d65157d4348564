/**
 * Time left for a job made of unequal steps (every method on an image; every method on every image).
 *
 * Each step carries a prior cost (relative units: see methods/cost.ts) and a kind. The estimate only
 * uses what has been measured: a remaining step of a kind already finished is expected to take that
 * kind's mean measured time; any other step takes its prior cost times the seconds per cost unit
 * measured so far (finished steps plus the running step's reported fraction). Until anything has been
 * measured the time left is unknown (null), never a guess that makes a minutes-long step look like a
 * second. The share done is elapsed / (elapsed + left), so it moves with time, not with step counts.
 */

export interface PlannedStep {
  /** Steps of one kind cost about the same (evaluate: the same method on another image). */
  kind: string;
  /** Prior cost in relative units; only ratios between steps matter. */
  cost: number;
}

export interface EtaSnapshot {
  /** Seconds since start. */
  elapsed: number;
  /** Seconds left, or null while nothing has been measured. */
  left: number | null;
  /** The running step has outlasted its expectation and reports no progress: `left` is only a lower bound. */
  atLeast: boolean;
  /** Share of the whole job done, in [0, 1]. */
  fraction: number;
}

export class EtaEstimator {
  private readonly spent: number[] = [];
  private current = 0;
  private currentFraction = 0;
  private currentStart: number;
  private readonly start: number;

  constructor(
    readonly steps: readonly PlannedStep[],
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    for (const s of steps) {
      if (!(s.cost > 0) || !Number.isFinite(s.cost))
        throw new RangeError(`progress: step "${s.kind}" has cost ${s.cost}; costs must be positive`);
    }
    this.start = this.now();
    this.currentStart = this.start;
  }

  /** Step `index` is running and `fraction` (0..1) of it is done; earlier steps are finished. */
  update(index: number, fraction = 0): void {
    const t = this.now();
    const target = Math.min(index, this.steps.length);
    while (this.current < target) {
      this.spent[this.current] = t - this.currentStart;
      this.current++;
      this.currentStart = t;
    }
    this.currentFraction = Math.min(1, Math.max(0, fraction));
  }

  /** The job is over. */
  finish(): void {
    this.update(this.steps.length);
  }

  get stepIndex(): number {
    return this.current;
  }

  snapshot(): EtaSnapshot {
    const t = this.now();
    const elapsed = t - this.start;
    if (this.current >= this.steps.length) return { elapsed, left: 0, atLeast: false, fraction: 1 };
    const inStep = t - this.currentStart;
    // Seconds per cost unit from everything measured: finished steps and the running one's fraction.
    let measuredCost = 0;
    let measuredTime = 0;
    const byKind = new Map<string, { time: number; count: number }>();
    for (let i = 0; i < this.current; i++) {
      measuredCost += this.steps[i].cost;
      measuredTime += this.spent[i];
      const k = byKind.get(this.steps[i].kind) ?? { time: 0, count: 0 };
      k.time += this.spent[i];
      k.count++;
      byKind.set(this.steps[i].kind, k);
    }
    const running = this.steps[this.current];
    if (this.currentFraction > 0) {
      measuredCost += running.cost * this.currentFraction;
      measuredTime += inStep;
    }
    if (measuredCost === 0) return { elapsed, left: null, atLeast: false, fraction: 0 };
    const perUnit = measuredTime / measuredCost;
    const expected = (i: number): number => {
      const k = byKind.get(this.steps[i].kind);
      return k ? k.time / k.count : this.steps[i].cost * perUnit;
    };
    // The running step: from its own rate once it reports progress, else from its expectation.
    const runningLeft =
      this.currentFraction > 0 ? (inStep * (1 - this.currentFraction)) / this.currentFraction : expected(this.current) - inStep;
    let left = Math.max(0, runningLeft);
    for (let i = this.current + 1; i < this.steps.length; i++) left += expected(i);
    return { elapsed, left, atLeast: runningLeft < 0, fraction: elapsed + left > 0 ? elapsed / (elapsed + left) : 0 };
  }
}

/** "45s", "3m 05s", "1h 02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
