import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PROFILE_HELP, profileCommand } from '../../src/cli/profile.js';
import { chromeTrace, profileMarkdown, summariseProfile } from '../../src/gpu/profile-report.js';
import { conv2dForward } from '../../src/kernels/conv2d.js';
import { matmul } from '../../src/kernels/matmul.js';
import { reluForward } from '../../src/kernels/relu.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();
const dir = await mkdtemp(join(tmpdir(), 'layertracer-profile-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Three dispatches in two layers: a matmul, a ReLU, a conv. */
async function work(): Promise<void> {
  const a = engine.upload(new Float32Array(64 * 64).fill(0.5), [64, 64]);
  const x = engine.upload(new Float32Array(2 * 8 * 9 * 9).fill(1), [2, 8, 9, 9]);
  const w = engine.upload(new Float32Array(16 * 8 * 3 * 3).fill(0.1), [16, 8, 3, 3]);
  engine.markLayer('first', 'forward');
  const c = matmul(engine, a, a);
  const r = reluForward(engine, c);
  engine.markLayer('second', 'forward');
  const y = conv2dForward(engine, x, w, null, { padding: 1, variant: 'direct' });
  engine.markLayer('');
  await y.readF32();
  engine.releaseAll(a, x, w, c, r, y);
}

describe('engine.profile', () => {
  const modes = engine.capabilities.timestamps ? (['timestamps', 'fence'] as const) : (['fence'] as const);
  for (const mode of modes) {
    it(`times every dispatch with its op, variant, layer and FLOPs (${mode})`, async () => {
      const before = engine.stats.dispatches;
      const p = await engine.profile(work, { mode });
      expect(p.mode).toBe(mode);
      expect(p.dispatches.length).toBe(engine.stats.dispatches - before);
      const [mm, relu, conv] = p.dispatches;
      expect([mm.op, mm.variant, mm.layer, mm.phase]).toEqual(['matmul', engine.capabilities.preferredVariant, 'first', 'forward']);
      expect(mm.flops).toBe(2 * 64 * 64 * 64);
      expect([relu.layer, relu.flops]).toEqual(['first', 0]);
      expect([conv.op, conv.variant, conv.layer]).toEqual(['conv2d.forward', 'direct', 'second']);
      expect(conv.flops).toBe(2 * 2 * 16 * 9 * 9 * 8 * 9);
      expect(conv.bytes).toBe(4 * (2 * 8 * 81 + 16 * 8 * 9 + 2 * 16 * 81)); // x, w, y (w stands in for the bias: counted once)
      for (const d of p.dispatches) {
        expect(d.ms).toBeGreaterThanOrEqual(0);
        expect(d.startMs).toBeGreaterThanOrEqual(0);
      }
      // Dispatches run in order, one after another.
      for (let i = 1; i < p.dispatches.length; i++) expect(p.dispatches[i].startMs).toBeGreaterThanOrEqual(p.dispatches[i - 1].startMs);
      const gpuMs = p.dispatches.reduce((s, d) => s + d.ms, 0);
      expect(gpuMs).toBeLessThanOrEqual(p.wallMs + 0.5);

      const s = summariseProfile(p.dispatches, p.wallMs, 100);
      expect(s.layers.map((l) => l.name)).toEqual(['first', 'second']);
      expect(s.layers[0].dispatches).toBe(2);
      expect(s.variants.reduce((n, v) => n + v.dispatches, 0)).toBe(p.dispatches.length);
      expect(s.flops).toBe(mm.flops + conv.flops);
      expect(profileMarkdown(s)).toContain('| second | forward | 1 |');
      const trace = chromeTrace(p.dispatches);
      const spans = trace.traceEvents.filter((e) => e.ph === 'X');
      expect(spans.filter((e) => e.tid === 1).length).toBe(p.dispatches.length);
      expect(spans.filter((e) => e.tid === 0).map((e) => e.name)).toEqual(['first', 'second']);
    });
  }

  // Only where the device has timestamp queries: without them there are no timestamps to round (the
  // profile falls back to fences, covered above). Lavapipe, SwiftShader and the H200 all have them.
  it.runIf(engine.capabilities.timestamps)('reads raw timestamps under Node (Dawn would round them down to 65.536 us)', async () => {
    const p = await engine.profile(work, { mode: 'timestamps' });
    const ticks = p.dispatches.map((d) => Math.round(d.ms * 1e6));
    // Quantized, every duration is a whole number of 65,536 ns steps (0 for a short kernel).
    expect(ticks.filter((ns) => ns % 65536 !== 0).length, `durations in ns: ${ticks.join(', ')}`).toBeGreaterThan(0);
  });

  it('counts the GPU buffers the profiled function created (their first use is timed in some dispatch)', async () => {
    // A size no other test uses, so the first run must create its buffers and the second reuses them.
    const run = async () => {
      const x = engine.upload(new Float32Array(3 * 37 * 41).fill(1), [3, 37, 41]);
      const y = reluForward(engine, x);
      await y.readF32();
      engine.releaseAll(x, y);
    };
    const first = await engine.profile(run);
    expect(first.createdBuffers).toBe(2);
    const second = await engine.profile(run);
    expect(second.createdBuffers).toBe(0);
  });

  it('refuses to nest, and leaves the engine unprofiled after a throw', async () => {
    await expect(engine.profile(() => engine.profile(work))).rejects.toThrow(/do not nest/);
    await expect(
      engine.profile(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const p = await engine.profile(work);
    expect(p.dispatches.length).toBeGreaterThan(0);
  });
});

describe('layertracer profile', () => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  it('writes the tables and a Perfetto trace for a seeded model', async () => {
    for (const o of [
      '--weights',
      '--arch',
      '--image',
      '--input-size',
      '--batch',
      '--method',
      '--forward-only',
      '--mode',
      '--out',
      '--force',
    ])
      expect(PROFILE_HELP).toContain(o);
    await profileCommand(['--arch', 'cifar_resnet20', '--batch', '2', '--no-ceiling', '--warmup', '0', '--out', dir]);
    const base = join(dir, 'profile-cifar_resnet20-forward+backward-n2');
    expect(existsSync(`${base}.md`)).toBe(true);
    const md = readFileSync(`${base}.md`, 'utf8');
    expect(md).toContain('| layer1.0.conv1 | forward |');
    expect(md).toContain('| layer1.0.conv1 | backward |');
    // The cold run creates every buffer, and the report says what that does to the layers' times.
    expect(md).toContain('after 0 warm-up runs');
    expect(md).toMatch(/note: the profiled run created \d+ GPU buffers/);
    const trace = JSON.parse(readFileSync(`${base}.trace.json`, 'utf8'));
    expect(trace.traceEvents.some((e: { name: string }) => e.name.startsWith('conv2d.forward'))).toBe(true);
    await expect(
      profileCommand(['--arch', 'cifar_resnet20', '--no-ceiling', '--warmup', '0', '--out', dir, '--batch', '2']),
    ).rejects.toThrow(/already exist.*pass --force/);
    // Warmed up, runs continue past --warmup until one creates no buffer: the profiled run creates none.
    await profileCommand(['--arch', 'cifar_resnet20', '--batch', '3', '--no-ceiling', '--warmup', '1', '--out', dir]);
    const warm = readFileSync(join(dir, 'profile-cifar_resnet20-forward+backward-n3.md'), 'utf8');
    const warmups = Number(/after (\d+) warm-up runs?/.exec(warm)?.[1]);
    expect(warmups).toBeGreaterThanOrEqual(2); // the first run prepares the weights, the second still allocates
    expect(warmups).toBeLessThanOrEqual(5);
    expect(warm).not.toContain('note: the profiled run created');
    await expect(profileCommand(['--no-ceiling'])).rejects.toThrow(/needs one of --weights FILE or --arch NAME/);
    await expect(profileCommand(['--arch', 'resnet50', '--mode', 'fast'])).rejects.toThrow(/--mode must be one of timestamps, fence/);
  });
});
