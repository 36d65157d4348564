/**
 * A progress line on stderr: redrawn in place on a terminal, a line every ~10 % otherwise (CI logs).
 * The share done and the time left come from util/eta.ts: steps of unequal cost are weighted, and
 * the time left stays "?" until something has been measured.
 */
import { EtaEstimator, formatDuration, type PlannedStep } from '../util/eta.js';

export class Progress {
  private lastPrinted = -1;
  private readonly tty: boolean;
  private readonly eta: EtaEstimator;
  private readonly total: number;

  /** `steps`: a count of equal steps, or the planned steps with their prior costs. */
  constructor(
    private readonly label: string,
    steps: number | readonly PlannedStep[],
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
    const planned = typeof steps === 'number' ? Array.from({ length: Math.max(0, steps) }, () => ({ kind: 'step', cost: 1 })) : steps;
    this.total = planned.length;
    this.eta = new EtaEstimator(planned);
  }

  /** `done` steps are finished; `fraction` (0..1) of the next one is done. */
  update(done: number, note = '', fraction = 0): void {
    this.eta.update(done, fraction);
    const { elapsed, left, atLeast, fraction: share } = this.eta.snapshot();
    const finished = done >= this.total;
    const eta = finished ? '' : ` eta ${left === null ? '?' : `${atLeast ? '>' : ''}${formatDuration(left)}`}`;
    const text = `${this.label} ${bar(share)} ${Math.min(done, this.total)}/${this.total} ${(share * 100).toFixed(0)}% ${formatDuration(elapsed)}${eta}${note ? ` ${note}` : ''}`;
    if (this.tty) {
      this.stream.write(`\r${text}\x1b[K`);
      if (finished) this.stream.write('\n');
      return;
    }
    const decile = finished ? 10 : Math.min(9, Math.floor(share * 10));
    if (decile !== this.lastPrinted) {
      this.lastPrinted = decile;
      this.stream.write(`${text}\n`);
    }
  }

  done(note = ''): void {
    this.update(this.total, note);
  }
}

function bar(frac: number, width = 24): string {
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}
