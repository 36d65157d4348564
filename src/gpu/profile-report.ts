/**
 * What a profile says: time per layer and per kernel variant (ms, GFLOP/s, GB/s, % of an FMA ceiling
 * measured in the same run), as Markdown tables and as a Chrome/Perfetto trace (`traceEvents`, open it
 * in ui.perfetto.dev or chrome://tracing).
 */

import type { DispatchRecord } from './profiler.js';

/** One row of a profile table: a layer, or an op and variant, with its time and rates. */
export interface ProfileRow {
  /** Layer (`layer3.1.conv2`) or op + variant (`conv2d.forward [subgroup]`). */
  name: string;
  phase: string;
  dispatches: number;
  ms: number;
  flops: number;
  bytes: number;
  gflops: number;
  gbps: number;
  /** GFLOP/s as % of the ceiling; null without a ceiling or FLOPs. */
  ceilingPct: number | null;
  /** Share of the profile's GPU time, %. */
  sharePct: number;
}

/** A profile summarised: totals, the same-run ceiling, and the per-layer and per-variant tables. */
export interface ProfileSummary {
  gpuMs: number;
  wallMs: number;
  flops: number;
  ceilingGflops: number | null;
  layers: ProfileRow[];
  variants: ProfileRow[];
}

function row(name: string, phase: string, recs: DispatchRecord[], gpuMs: number, ceiling: number | null): ProfileRow {
  const ms = recs.reduce((s, r) => s + r.ms, 0);
  const flops = recs.reduce((s, r) => s + r.flops, 0);
  const bytes = recs.reduce((s, r) => s + r.bytes, 0);
  const gflops = ms > 0 ? flops / (ms * 1e6) : 0;
  return {
    name,
    phase,
    dispatches: recs.length,
    ms,
    flops,
    bytes,
    gflops,
    gbps: ms > 0 ? bytes / (ms * 1e6) : 0,
    ceilingPct: ceiling && flops > 0 ? (100 * gflops) / ceiling : null,
    sharePct: gpuMs > 0 ? (100 * ms) / gpuMs : 0,
  };
}

function groupBy(recs: DispatchRecord[], key: (r: DispatchRecord) => string): Map<string, DispatchRecord[]> {
  const m = new Map<string, DispatchRecord[]>();
  for (const r of recs) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/**
 * Layers in the order they first ran (forward, then backward); variants by time, largest first.
 * Dispatches outside any layer are grouped under their op.
 */
export function summariseProfile(dispatches: DispatchRecord[], wallMs: number, ceilingGflops: number | null = null): ProfileSummary {
  const gpuMs = dispatches.reduce((s, r) => s + r.ms, 0);
  const layers = [...groupBy(dispatches, (r) => `${r.phase}\u0000${r.layer || `(${r.op})`}`)].map(([k, recs]) => {
    const [phase, name] = k.split('\u0000');
    return row(name, phase, recs, gpuMs, ceilingGflops);
  });
  const variants = [...groupBy(dispatches, (r) => `${r.op}\u0000${r.variant ?? ''}\u0000${r.kernel}`)]
    .map(([k, recs]) => {
      const [op, variant, kernel] = k.split('\u0000');
      return row(`${op}${variant ? ` [${variant}]` : ''} ${kernel}`, '', recs, gpuMs, ceilingGflops);
    })
    .sort((a, b) => b.ms - a.ms);
  return { gpuMs, wallMs, flops: dispatches.reduce((s, r) => s + r.flops, 0), ceilingGflops, layers, variants };
}

function fmt(v: number | null, digits = 3): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(d, 3));
}

function table(rows: ProfileRow[], first: string, withPhase: boolean): string {
  const head = `| ${first} |${withPhase ? ' pass |' : ''} dispatches | ms | % of GPU time | GFLOP/s | GB/s | % ceiling |`;
  const rule = `|---|${withPhase ? '---|' : ''}---:|---:|---:|---:|---:|---:|`;
  const lines = rows.map(
    (r) =>
      `| ${r.name} |${withPhase ? ` ${r.phase || '-'} |` : ''} ${r.dispatches} | ${fmt(r.ms)} | ${fmt(r.sharePct, 2)} | ${r.flops ? fmt(r.gflops) : '-'} | ${fmt(r.gbps)} | ${fmt(r.ceilingPct, 2)} |`,
  );
  return [head, rule, ...lines].join('\n');
}

/** Markdown: totals, then the per-layer and per-variant tables (`top` rows of the latter). */
export function profileMarkdown(s: ProfileSummary, top = 25): string {
  const ceiling = s.ceilingGflops ? `; FMA ceiling ${fmt(s.ceilingGflops)} GFLOP/s (same run)` : '';
  return [
    `GPU time ${fmt(s.gpuMs)} ms in ${s.layers.reduce((n, r) => n + r.dispatches, 0)} dispatches; wall ${fmt(s.wallMs)} ms; ` +
      `${fmt(s.flops / 1e9)} GFLOP, ${fmt(s.gpuMs > 0 ? s.flops / (s.gpuMs * 1e6) : 0)} GFLOP/s over GPU time${ceiling}`,
    '',
    '### By kernel variant',
    '',
    table(s.variants.slice(0, top), 'op [variant] kernel', false),
    ...(s.variants.length > top ? [`\n(${s.variants.length - top} more rows in the JSON)`] : []),
    '',
    '### By layer',
    '',
    table(s.layers, 'layer', true),
  ].join('\n');
}

/** One Chrome / Perfetto trace event (`ph: 'X'`, a complete duration event). */
export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  args: Record<string, unknown>;
}

/**
 * Chrome trace-event JSON: one complete event per dispatch on track 1, and one per layer (from its
 * first dispatch's start to its last one's end) on track 0; microseconds from the first dispatch.
 */
export function chromeTrace(
  dispatches: DispatchRecord[],
  meta: Record<string, unknown> = {},
): { traceEvents: TraceEvent[]; otherData: Record<string, unknown> } {
  const events: TraceEvent[] = [
    { name: 'thread_name', cat: '__metadata', ph: 'M', pid: 1, tid: 0, args: { name: 'layers' } },
    { name: 'thread_name', cat: '__metadata', ph: 'M', pid: 1, tid: 1, args: { name: 'dispatches' } },
  ];
  for (const r of dispatches) {
    events.push({
      name: `${r.op}${r.variant ? ` [${r.variant}]` : ''}`,
      cat: r.phase || 'gpu',
      ph: 'X',
      ts: r.startMs * 1000,
      dur: r.ms * 1000,
      pid: 1,
      tid: 1,
      args: { kernel: r.kernel, layer: r.layer, shapes: r.shapes, workgroups: r.workgroups, flops: r.flops, bytes: r.bytes },
    });
  }
  // Consecutive dispatches of one layer and pass form one span.
  let span: { name: string; phase: string; start: number; end: number; n: number } | null = null;
  const close = () => {
    if (span) {
      events.push({
        name: span.name,
        cat: span.phase || 'layer',
        ph: 'X',
        ts: span.start * 1000,
        dur: (span.end - span.start) * 1000,
        pid: 1,
        tid: 0,
        args: { dispatches: span.n, pass: span.phase },
      });
    }
  };
  for (const r of dispatches) {
    if (!r.layer) continue;
    if (span && span.name === r.layer && span.phase === r.phase) {
      span.end = Math.max(span.end, r.startMs + r.ms);
      span.n++;
    } else {
      close();
      span = { name: r.layer, phase: r.phase, start: r.startMs, end: r.startMs + r.ms, n: 1 };
    }
  }
  close();
  return { traceEvents: events, otherData: meta };
}
