/** The bench's outputs: a Markdown table for people, JSON for tools, both under out/bench/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDescription } from '../src/gpu/engine.js';
import type { FmaCeilingResult } from '../src/kernels/fma-ceiling.js';
import type { CaseResult, TimingOptions } from './harness.js';
import { summarise, type Summary } from './stats.js';

export interface HostInfo {
  platform: string;
  cpus: number;
  cpuModel: string;
  node: string;
  loadavgStart: number[];
  loadavgEnd: number[];
}

export interface RowReport extends CaseResult {
  summary: Summary | null;
  /** GFLOP/s as a percentage of the run's FMA ceiling. */
  ceilingPct: number | null;
  /**
   * FLOPs per CPU-second as a percentage of the ceiling's FLOPs per CPU-second: on a software adapter
   * the kernels run on this process's threads, so this ratio holds even when other jobs share the cores.
   */
  cpuCeilingPct: number | null;
  /** GB/s as a percentage of the run's copy bandwidth (copy_ceiling.wgsl): the ceiling of memory-bound ops. */
  copyPct: number | null;
}

export interface BenchReport {
  kind: 'layertracer-kernel-bench';
  version: 1;
  command: string;
  startedAt: string;
  finishedAt: string;
  adapter: AdapterDescription;
  host: HostInfo;
  options: TimingOptions & { batches: number[]; quick: boolean; filter: string | null; rounds: number };
  /** Copy bandwidth (read + write) of a 64 MiB buffer, GB/s: best at the start and at the end. */
  copyGbps: number[];
  ceiling: {
    /** The ceiling the percentages use: the median of every measurement in this run. */
    gflops: number;
    /** Each measurement in order (start, between rounds, end). */
    measurements: FmaCeilingResult[];
  };
  /** An empty dispatch + finish: the fixed cost inside every timed run. */
  floor: Summary;
  rows: RowReport[];
}

export function rowReport(r: CaseResult, ceilingGflops: number, ceilingPerCpuSecond: number | null, copyGbps: number | null): RowReport {
  const summary = summarise(r);
  const perCpu = summary?.gflopsPerCpuSecond;
  return {
    ...r,
    summary,
    ceilingPct: summary && ceilingGflops > 0 ? (100 * summary.gflops) / ceilingGflops : null,
    cpuCeilingPct: perCpu && ceilingPerCpuSecond ? (100 * perCpu) / ceilingPerCpuSecond : null,
    copyPct: summary && copyGbps ? (100 * summary.gbps) / copyGbps : null,
  };
}

/** Three significant digits, no exponent for the sizes seen here. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(digits, 4));
}

export function markdownTable(rows: RowReport[]): string {
  const head = '| case | first ms | median ms | min-max ms | runs | GFLOP/s | GB/s | % ceiling | % ceiling (CPU time) | % copy bandwidth |';
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows
    .filter((r) => r.status === 'ok' && r.summary)
    .map((r) => {
      const s = r.summary!;
      const leak = r.leakedBuffers ? ` (leaks ${r.leakedBuffers} buffers)` : '';
      const compiled = r.newPipelines ? '*' : '';
      const note = r.note ? ` (${r.note})` : '';
      return `| ${r.name}${note}${leak} | ${fmt(r.firstMs)}${compiled} | ${fmt(s.medianMs)} | ${fmt(s.minMs)}-${fmt(s.maxMs)} | ${r.samplesMs.length}${r.firstIsSample ? ' (first)' : ''} | ${fmt(s.gflops)} | ${fmt(s.gbps)} | ${fmt(r.ceilingPct)} | ${fmt(r.cpuCeilingPct)} | ${fmt(r.copyPct)} |`;
    });
  return [head, rule, ...lines, '', '`*` first run includes compiling the pipeline (later cases of the same kernel reuse it).'].join('\n');
}

/** "not available yet" grouped by module, then failures one per line. */
export function problemsText(rows: RowReport[]): string {
  const out: string[] = [];
  const missing = new Map<string, number>();
  for (const r of rows) if (r.status === 'unavailable') missing.set(r.module, (missing.get(r.module) ?? 0) + 1);
  for (const [module, count] of missing)
    out.push(`- not available yet: ${module} (src/kernels/${module}.ts), ${count} case${count > 1 ? 's' : ''} skipped`);
  for (const r of rows) if (r.status === 'unsupported') out.push(`- unsupported here: ${r.name}: ${r.reason}`);
  // One line per failure here; the JSON keeps the whole message.
  const oneLine = (text = '') => {
    const flat = text.replace(/\s+/g, ' ');
    return flat.length > 240 ? `${flat.slice(0, 240)}...` : flat;
  };
  for (const r of rows) if (r.status === 'failed') out.push(`- FAILED ${r.name}: ${oneLine(r.reason)}`);
  return out.join('\n');
}

export function markdownReport(rep: BenchReport): string {
  const c = rep.ceiling;
  const a = rep.adapter;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  const problems = problemsText(rep.rows);
  const perCpu = c.measurements.filter((m) => m.gflopsPerCpuSecond).map((m) => fmt(m.gflopsPerCpuSecond));
  return [
    `# Kernel benchmark, ${rep.startedAt}`,
    '',
    `- command: \`${rep.command}\``,
    `- adapter: ${a.vendor || '?'} / ${a.architecture || '?'} / ${a.device || '?'}${a.isSoftware ? ' (software)' : ''}; ${a.description}`,
    `- host: ${rep.host.cpuModel}, ${rep.host.cpus} CPUs, node ${rep.host.node}; load average ${load(rep.host.loadavgStart)} at start, ${load(rep.host.loadavgEnd)} at end`,
    `- FMA ceiling: ${c.measurements.map((m) => fmt(m.gflops)).join(', ')} GFLOP/s (start ... end); % ceiling uses the median, ${fmt(c.gflops)} GFLOP/s`,
    ...(perCpu.length ? [`- FMA ceiling per CPU-second (what one core gives when it is not shared): ${perCpu.join(', ')} GFLOP`] : []),
    `- copy bandwidth (64 MiB, read + write): ${rep.copyGbps.map((g) => fmt(g)).join(', ')} GB/s (start, end); % copy bandwidth uses the best`,
    `- floor (empty dispatch + finish): median ${fmt(rep.floor.medianMs)} ms, ${fmt(rep.floor.minMs)}-${fmt(rep.floor.maxMs)} ms`,
    `- timing: first run (pipeline compile included, host clock) apart; then warm runs until >= ${rep.options.minRuns} runs and >= ${rep.options.minSeconds} s, at most ~${rep.options.maxCaseSeconds} s per case; ${rep.options.rounds} round(s); ` +
      (rep.options.timer === 'gpu'
        ? 'each sample the sum of its dispatches by GPU timestamps (submit and readback excluded)'
        : 'each sample one dispatch + finish by the host clock'),
    '- GFLOP/s and GB/s from the median; GB/s counts the minimum traffic (inputs read once, outputs written once)',
    "- % ceiling (CPU time): FLOPs per CPU-second of the process against the ceiling's; it stays put when other jobs share the cores",
    '',
    markdownTable(rep.rows),
    ...(problems ? ['', problems] : []),
    '',
  ].join('\n');
}

/** `<dir>/kernels-YYYYMMDD-HHMMSS[-k].{json,md}`: never overwrites an earlier result. */
export function writeReport(dir: string, rep: BenchReport, started: Date): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${started.getFullYear()}${p(started.getMonth() + 1)}${p(started.getDate())}-${p(started.getHours())}${p(started.getMinutes())}${p(started.getSeconds())}`;
  for (let k = 0; ; k++) {
    const base = join(dir, `kernels-${stamp}${k ? `-${k}` : ''}`);
    try {
      // 'wx' fails when the file exists: a second run in the same second gets a suffix instead.
      writeFileSync(`${base}.json`, JSON.stringify(rep, null, 1) + '\n', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    writeFileSync(`${base}.md`, markdownReport(rep), { flag: 'wx' });
    return { json: `${base}.json`, md: `${base}.md` };
  }
}
