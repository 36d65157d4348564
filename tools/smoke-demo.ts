/**
 * Smoke demo (`npm run demo` until the CLI's demo lands): proves the engine end to end on this
 * machine's adapter. Prints the adapter, runs ReLU forward and its three backward rules on a small
 * tensor, checks them against the definitions, and prints the engine's counters.
 */
import { acquireEngine, formatBytes } from '../src/gpu/index.js';
import { reluBackward, reluForward, type ReluRule } from '../src/kernels/relu.js';

const fmt = (a: ArrayLike<number>): string => `[${Array.from(a, (v) => (Object.is(v, -0) ? 0 : v).toFixed(2).padStart(5)).join(' ')}]`;

const engine = await acquireEngine();
let failures = 0;
try {
  const a = engine.adapter;
  console.log(`adapter   ${a.vendor || '?'} / ${a.architecture || '?'} / ${a.device || '?'}${a.isSoftware ? ' (software)' : ''}`);
  if (a.description) console.log(`          ${a.description}`);
  console.log(`features  ${a.features.join(' ') || 'none'}`);
  console.log(
    `limits    maxStorageBufferBindingSize ${formatBytes(engine.limits.maxStorageBufferBindingSize)}, maxBufferSize ${formatBytes(engine.limits.maxBufferSize)}`,
  );

  // z: (1, 2, 2, 2), R: same shape; zeros included so the z == 0 rule is visible.
  const shape = [1, 2, 2, 2];
  const z = Float32Array.from([-1.5, -0.5, 0, 0.5, 1, 2, -2, 3]);
  const r = Float32Array.from([0.5, -1, 1, -0.5, 2, -2, 1, 0.25]);
  const zt = engine.upload(z, shape, 'demo.z');
  const rt = engine.upload(r, shape, 'demo.R');

  const check = (what: string, got: Float32Array, want: (i: number) => number): void => {
    const ok = got.every((v, i) => v === want(i));
    if (!ok) failures++;
    console.log(`${what.padEnd(28)} ${fmt(got)}  ${ok ? 'ok' : 'MISMATCH'}`);
  };
  console.log(`${'z'.padEnd(28)} ${fmt(z)}`);
  console.log(`${'R'.padEnd(28)} ${fmt(r)}`);

  const y = reluForward(engine, zt);
  check('relu forward', await y.readF32(), (i) => Math.max(z[i], 0));
  const rules: Record<ReluRule, (i: number) => number> = {
    standard: (i) => (z[i] > 0 ? r[i] : 0),
    guided: (i) => (z[i] > 0 && r[i] > 0 ? r[i] : 0),
    deconvnet: (i) => (r[i] > 0 ? r[i] : 0),
  };
  for (const [rule, want] of Object.entries(rules) as [ReluRule, (i: number) => number][]) {
    const dx = reluBackward(engine, zt, rt, rule);
    check(`relu backward (${rule})`, await dx.readF32(), want);
    dx.release();
  }
  engine.releaseAll(zt, rt, y);
  await engine.finish();

  const s = engine.stats;
  console.log(
    `engine    ${s.dispatches} dispatches, ${s.submits} submits, ${s.pipelines} pipelines; ` +
      `pool: ${s.pool.liveBytes} B live, ${s.pool.pooledBytes} B pooled, peak ${s.pool.peakLiveBytes} B, ` +
      `${s.pool.createdBuffers} buffers created, ${s.pool.reusedBuffers} reused`,
  );
  console.log(failures ? `smoke demo: ${failures} kernel result(s) wrong` : 'smoke demo: all kernels match');
} finally {
  // Releases the Dawn device so the process can exit.
  engine.destroy();
}
process.exitCode = failures ? 1 : 0;
