/**
 * Kernel benchmark (`npm run bench`): times every kernel over bench/grid.ts and reports ms (first run
 * apart from warm runs; median and spread), GFLOP/s, GB/s and the % of the adapter's FMA ceiling,
 * measured in the same run at the start, between rounds and at the end.
 *
 *   node dist/bench/main.js [--quick] [--filter REGEX] [--batch 1,8] [--rounds N]
 *                           [--min-runs 5] [--min-seconds 0.5] [--max-case-seconds 2]
 *                           [--timer auto|wall|gpu] [--out out/bench] [--no-write] [--list]
 */
import { cpus, loadavg } from 'node:os';
import { acquireEngine } from '../src/gpu/acquire.js';
import { measureCopyCeiling } from '../src/kernels/copy-ceiling.js';
import type { FmaCeilingResult } from '../src/kernels/fma-ceiling.js';
import type { BenchCase } from './case.js';
import { benchGrid } from './grid.js';
import {
  DEFAULT_TIMING,
  chooseTimer,
  measureCeiling,
  measureFloor,
  timeCase,
  type CaseResult,
  type Timer,
  type TimingOptions,
} from './harness.js';
import { quantile, summarise } from './stats.js';
import { fmt, markdownTable, problemsText, rowReport, writeReport, type BenchReport } from './report.js';

interface Args extends TimingOptions {
  quick: boolean;
  filter: RegExp | null;
  batches: number[] | null;
  rounds: number;
  out: string;
  write: boolean;
  list: boolean;
  /** The --timer asked for; `timer` (from TimingOptions) is what it resolves to on the adapter. */
  timerAsked: Timer | 'auto';
}

const USAGE = `usage: bench [--quick] [--filter REGEX] [--batch 1,8] [--rounds N] [--min-runs N] [--min-seconds S]
             [--max-case-seconds S] [--timer auto|wall|gpu] [--out DIR] [--no-write] [--list]
  --quick             batch 1 and a subset of the grid (a minute or so on a 2-core software adapter)
  --filter REGEX      only cases whose name matches (case-insensitive), e.g. 'conv2d.forward.*resnet50'
  --batch 1,8         batch sizes (default 1,8; 1 with --quick)
  --rounds N          time the whole grid N times, interleaving cases against machine noise (default 1)
  --timer T           wall: dispatch + finish by the host clock; gpu: the run's dispatches by GPU
                      timestamps; auto (default): gpu on a hardware adapter that has timestamp queries,
                      wall on a software one (where the host's cores run the kernels)
  --list              print the selected cases and exit`;

function parseArgs(argv: string[]): Args {
  const a: Args = {
    ...DEFAULT_TIMING,
    quick: false,
    filter: null,
    batches: null,
    rounds: 1,
    out: 'out/bench',
    write: true,
    list: false,
    timerAsked: 'auto',
  };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag} needs a number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => argv[++i];
    switch (flag) {
      case '--quick':
        a.quick = true;
        break;
      case '--filter':
        a.filter = new RegExp(next() ?? '', 'i');
        break;
      case '--batch': {
        const v = next() ?? '';
        a.batches = v.split(',').map((s) => num('--batch', s, 1));
        if (a.batches.some((n) => !Number.isInteger(n))) throw new Error(`--batch needs positive integers, got ${v}`);
        break;
      }
      case '--rounds':
        a.rounds = Math.floor(num(flag, next(), 1));
        break;
      case '--min-runs':
        a.minRuns = Math.floor(num(flag, next(), 1));
        break;
      case '--min-seconds':
        a.minSeconds = num(flag, next(), 0);
        break;
      case '--max-case-seconds':
        a.maxCaseSeconds = num(flag, next(), 0);
        break;
      case '--timer': {
        const v = next();
        if (v !== 'auto' && v !== 'wall' && v !== 'gpu') throw new Error(`--timer needs auto, wall or gpu, got ${v}`);
        a.timerAsked = v;
        break;
      }
      case '--out':
        a.out = next() ?? a.out;
        break;
      case '--no-write':
        a.write = false;
        break;
      case '--list':
        a.list = true;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        return process.exit(0);
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  return a;
}

function selectCases(args: Args, batches: number[]): BenchCase[] {
  const all = benchGrid({ batches, quick: args.quick });
  return args.filter ? all.filter((c) => args.filter!.test(c.name)) : all;
}

function progressLine(i: number, total: number, r: CaseResult, ceiling: number, perCpu: number | null, copy: number): string {
  const head = `[${i + 1}/${total}] ${r.name}${r.note ? ` (${r.note})` : ''}`;
  if (r.status !== 'ok') return `${head}: ${r.status === 'failed' ? 'FAILED' : 'skipped'}: ${r.reason}`;
  const s = summarise(r)!;
  return (
    `${head}: median ${fmt(s.medianMs)} ms (${fmt(s.minMs)}-${fmt(s.maxMs)}, ${r.samplesMs.length} runs; first ${fmt(r.firstMs)}) ` +
    `${fmt(s.gflops)} GFLOP/s ${fmt(s.gbps)} GB/s ${fmt((100 * s.gflops) / ceiling)}%` +
    (s.gflopsPerCpuSecond && perCpu ? ` (${fmt((100 * s.gflopsPerCpuSecond) / perCpu)}% by CPU time)` : '') +
    `; ${fmt((100 * s.gbps) / copy)}% of copy bandwidth` +
    (r.leakedBuffers ? ` LEAKS ${r.leakedBuffers} buffers` : '')
  );
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const batches = args.batches ?? (args.quick ? [1] : [1, 8]);
  const cases = selectCases(args, batches);
  if (args.list) {
    for (const c of cases) console.log(`${c.name}  [${fmt(c.flops() / 1e6)} MFLOP, ${fmt(c.bytes() / 1e6)} MB]`);
    return 0;
  }
  if (!cases.length) {
    console.error('bench: no case matches; --list shows the grid');
    return 2;
  }

  const started = new Date();
  const loadavgStart = loadavg();
  const engine = await acquireEngine();
  try {
    const a = engine.adapter;
    console.log(`adapter: ${a.vendor} / ${a.architecture} / ${a.device}${a.isSoftware ? ' (software)' : ''}`);
    args.timer = chooseTimer(engine, args.timerAsked);
    console.log(
      args.timer === 'gpu'
        ? "timer: GPU timestamps (each sample is the sum of its run's dispatches; submit and readback excluded)"
        : 'timer: wall clock (each sample is one dispatch + finish)',
    );
    console.log(
      `${cases.length} cases, ${args.rounds} round(s); load average ${loadavgStart.map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs`,
    );
    if (loadavgStart[0] > cpus().length * 0.5)
      console.log('note: the machine is busy; expect noise (ratios to the ceiling are steadier than ms)');

    const ceilings: FmaCeilingResult[] = [];
    const ceilingPerCpu = () => {
      const v = ceilings.map((c) => c.gflopsPerCpuSecond).filter((g): g is number => !!g);
      return v.length ? Math.max(...v) : null;
    };
    const ceilingNow = async (when: string) => {
      const c = await measureCeiling(engine);
      ceilings.push(c);
      const perCpu = c.gflopsPerCpuSecond ? `; ${fmt(c.gflopsPerCpuSecond)} GFLOP per CPU-second` : '';
      console.log(`FMA ceiling (${when}): ${fmt(c.gflops)} GFLOP/s (runs ${c.runsMs.map((m) => fmt(m)).join(', ')} ms${perCpu})`);
      return c.gflops;
    };
    let ceiling = await ceilingNow('start');
    const copyGbps = [(await measureCopyCeiling(engine)).gbps];
    console.log(`copy bandwidth (64 MiB, read + write): ${fmt(copyGbps[0])} GB/s`);
    const floor = await measureFloor(engine);
    console.log(`floor (empty dispatch + finish): median ${fmt(floor.medianMs)} ms (${fmt(floor.minMs)}-${fmt(floor.maxMs)})`);

    const results: (CaseResult | null)[] = cases.map(() => null);
    for (let round = 0; round < args.rounds; round++) {
      if (round > 0) ceiling = await ceilingNow(`before round ${round + 1}`);
      for (let i = 0; i < cases.length; i++) {
        const prev = results[i];
        if (prev && prev.status !== 'ok') continue;
        const r = await timeCase(engine, cases[i], args, !prev);
        if (!prev) results[i] = r;
        else if (r.status === 'ok') {
          prev.samplesMs.push(...r.samplesMs);
          prev.cpuMs.push(...r.cpuMs);
        } else {
          // A kernel that works once and fails later is a failure, not a shorter sample.
          results[i] = { ...prev, status: r.status, reason: `round ${round + 1}: ${r.reason}` };
        }
        console.log(progressLine(i, cases.length, results[i]!, ceiling, ceilingPerCpu(), copyGbps[0]));
      }
    }
    await ceilingNow('end');
    copyGbps.push((await measureCopyCeiling(engine)).gbps);

    const ceilingUsed = quantile(
      ceilings.map((c) => c.gflops).sort((x, y) => x - y),
      0.5,
    );
    const rows = results.map((r) => rowReport(r!, ceilingUsed, ceilingPerCpu(), Math.max(...copyGbps)));
    const report: BenchReport = {
      kind: 'layertracer-kernel-bench',
      version: 1,
      command: ['bench', ...process.argv.slice(2)].join(' '),
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      adapter: engine.adapter,
      host: {
        platform: `${process.platform}-${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '?',
        node: process.version,
        loadavgStart,
        loadavgEnd: loadavg(),
      },
      options: {
        minRuns: args.minRuns,
        minSeconds: args.minSeconds,
        maxCaseSeconds: args.maxCaseSeconds,
        batches,
        quick: args.quick,
        filter: args.filter?.source ?? null,
        rounds: args.rounds,
        timer: args.timer,
      },
      copyGbps,
      ceiling: { gflops: ceilingUsed, measurements: ceilings },
      floor,
      rows,
    };

    console.log(`\nFMA ceiling ${fmt(ceilingUsed)} GFLOP/s (median of ${ceilings.length}); floor ${fmt(floor.medianMs)} ms\n`);
    console.log(markdownTable(rows));
    const problems = problemsText(rows);
    if (problems) console.log(`\n${problems}`);
    if (args.write) {
      const files = writeReport(args.out, report, started);
      console.log(`\nwrote ${files.md} and ${files.json}`);
    }
    return rows.some((r) => r.status === 'failed') ? 1 : 0;
  } finally {
    engine.destroy();
  }
}

process.exitCode = await main();
