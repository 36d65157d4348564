/** Order statistics of timed runs, and the rates derived from the median. */

export interface Summary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  q1Ms: number;
  q3Ms: number;
  gflops: number;
  gbps: number;
  /** Median CPU time of the process per run (Node), and the FLOPs per CPU-second it gives. */
  cpuMedianMs: number | null;
  gflopsPerCpuSecond: number | null;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarise(r: { samplesMs: readonly number[]; cpuMs?: readonly number[]; flops: number; bytes: number }): Summary | null {
  if (!r.samplesMs.length) return null;
  const s = [...r.samplesMs].sort((a, b) => a - b);
  const medianMs = quantile(s, 0.5);
  const cpu = [...(r.cpuMs ?? [])].sort((a, b) => a - b);
  const cpuMedianMs = cpu.length ? quantile(cpu, 0.5) : null;
  return {
    medianMs,
    minMs: s[0],
    maxMs: s[s.length - 1],
    q1Ms: quantile(s, 0.25),
    q3Ms: quantile(s, 0.75),
    gflops: r.flops / (medianMs * 1e6),
    gbps: r.bytes / (medianMs * 1e6),
    cpuMedianMs,
    gflopsPerCpuSecond: cpuMedianMs ? r.flops / (cpuMedianMs * 1e6) : null,
  };
}
