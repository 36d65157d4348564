/**
 * `npm run fuzz`: the long seeded fuzz (tools/fuzz/core.ts). Cases run in a child process with a 1 GiB
 * heap limit, watched by this parent: a case that makes no progress for --stall seconds is a hang (the
 * child is killed and the run goes on after it), a child that dies is a crash, and the peak resident
 * memory of the children is reported. Exit code 1 when anything crashed or hung.
 *
 *   npm run fuzz -- [--seed 1] [--weights 100000] [--png 20000] [--jpeg 20000] [--options 20000] [--stall 20]
 *
 * CPU only: run it under `nice -n 19` beside other work.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBases, runCase, type Kind } from './core.js';

const KINDS: Kind[] = ['weights', 'png', 'jpeg', 'options'];

interface Progress {
  type: 'at' | 'crash' | 'done';
  index: number;
  detail?: string;
  maxRssKb?: number;
  slowestMs?: number;
  slowestIndex?: number;
  accepted?: number;
  refused?: number;
}

async function child(kind: Kind, seed: number, start: number, end: number): Promise<void> {
  const bases = loadBases(process.cwd());
  let accepted = 0;
  let refused = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  for (let i = start; i < end; i++) {
    process.send!({ type: 'at', index: i, maxRssKb: i % 100 === 0 ? process.resourceUsage().maxRSS : undefined } satisfies Progress);
    const t0 = performance.now();
    const r = runCase(kind, seed, i, bases);
    const ms = performance.now() - t0;
    if (ms > slowestMs) [slowestMs, slowestIndex] = [ms, i];
    if (r.outcome === 'crash') process.send!({ type: 'crash', index: i, detail: r.detail } satisfies Progress);
    else if (r.outcome === 'accepted') accepted++;
    else refused++;
  }
  await new Promise<void>((ok) =>
    process.send!(
      { type: 'done', index: end, maxRssKb: process.resourceUsage().maxRSS, slowestMs, slowestIndex, accepted, refused } satisfies Progress,
      () => ok(),
    ),
  );
}

interface KindReport {
  kind: Kind;
  cases: number;
  accepted: number;
  refused: number;
  crashes: string[];
  hangs: number[];
  peakRssMiB: number;
  slowest: string;
  seconds: number;
}

/** Runs cases [0, count) of a kind in children, restarting after a hang or a dead child. */
async function runKind(kind: Kind, seed: number, count: number, stallSeconds: number): Promise<KindReport> {
  const report: KindReport = {
    kind,
    cases: count,
    accepted: 0,
    refused: 0,
    crashes: [],
    hangs: [],
    peakRssMiB: 0,
    slowest: '',
    seconds: 0,
  };
  const t0 = Date.now();
  let slowestMs = 0;
  let start = 0;
  while (start < count) {
    const next = await new Promise<number>((resolveNext) => {
      const worker = fork(fileURLToPath(import.meta.url), ['--child', kind, String(seed), String(start), String(count)], {
        execArgv: ['--max-old-space-size=1024'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      let at = start;
      let finished = false;
      let timer = setTimeout(onStall, stallSeconds * 1000);
      function onStall() {
        report.hangs.push(at);
        worker.kill('SIGKILL');
      }
      worker.on('message', (m: Progress) => {
        clearTimeout(timer);
        timer = setTimeout(onStall, stallSeconds * 1000);
        if (m.maxRssKb) report.peakRssMiB = Math.max(report.peakRssMiB, m.maxRssKb / 1024);
        if (m.type === 'at') at = m.index;
        if (m.type === 'crash') report.crashes.push(`#${m.index}: ${m.detail}`);
        if (m.type === 'done') {
          finished = true;
          report.accepted += m.accepted!;
          report.refused += m.refused!;
          if (m.slowestMs! > slowestMs) {
            slowestMs = m.slowestMs!;
            report.slowest = `#${m.slowestIndex} ${m.slowestMs!.toFixed(0)} ms`;
          }
        }
      });
      worker.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (finished) return resolveNext(count);
        // Killed for a hang, or died (out of memory past the 1 GiB heap, a native crash): skip the case.
        if (!report.hangs.includes(at)) report.crashes.push(`#${at}: the child died (${signal ?? `exit ${code}`})`);
        resolveNext(at + 1);
      });
    });
    start = next;
  }
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      weights: { type: 'string', default: '100000' },
      png: { type: 'string', default: '20000' },
      jpeg: { type: 'string', default: '20000' },
      options: { type: 'string', default: '20000' },
      stall: { type: 'string', default: '20' },
    },
  });
  const seed = Number(values.seed);
  const reports: KindReport[] = [];
  for (const kind of KINDS) {
    const count = Number(values[kind]);
    if (!count) continue;
    console.log(`fuzz: ${count} ${kind} cases, seed ${seed}...`);
    const r = await runKind(kind, seed, count, Number(values.stall));
    reports.push(r);
    console.log(
      `  ${r.cases} cases in ${r.seconds.toFixed(0)} s: ${r.accepted} accepted, ${r.refused} refused, ${r.crashes.length} crashes, ` +
        `${r.hangs.length} hangs; peak RSS ${r.peakRssMiB.toFixed(0)} MiB; slowest ${r.slowest}`,
    );
    for (const c of r.crashes.slice(0, 20)) console.log(`    crash ${kind} ${c}`);
    for (const h of r.hangs.slice(0, 20)) console.log(`    hang ${kind} #${h} (no progress for ${values.stall} s)`);
  }
  const bad = reports.some((r) => r.crashes.length || r.hangs.length);
  console.log(bad ? 'fuzz: FAILED (crashes or hangs above; reproduce with runCase(kind, seed, index))' : 'fuzz: no crash, no hang');
  process.exitCode = bad ? 1 : 0;
}

if (process.argv[2] === '--child') {
  const [, , , kind, seed, start, end] = process.argv;
  await child(kind as Kind, Number(seed), Number(start), Number(end));
} else {
  await parent();
}
