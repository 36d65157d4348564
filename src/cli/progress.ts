/**
 * A progress line on stderr: redrawn in place on a terminal, a line every ~10 % otherwise (CI logs).
 */
export class Progress {
  private readonly start = Date.now();
  private lastPrinted = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
  }

  update(done: number, note = ''): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : 0;
    const text = `${this.label} ${bar(frac)} ${done}/${this.total} ${(frac * 100).toFixed(0)}% ${elapsed.toFixed(1)}s${frac < 1 ? ` eta ${eta.toFixed(0)}s` : ''}${note ? ` ${note}` : ''}`;
    if (this.tty) {
      this.stream.write(`\r${text}\x1b[K`);
      if (frac >= 1) this.stream.write('\n');
      return;
    }
    const decile = Math.floor(frac * 10);
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
