import { describe, expect, it } from 'vitest';
import { grid1d } from '../../src/gpu/engine.js';
import { GpuError, GpuLimitError, KernelCompileError, KernelInputError } from '../../src/gpu/errors.js';
import { defineKernel, wgslEnum } from '../../src/gpu/kernel.js';
import { sizeClass } from '../../src/gpu/buffer-pool.js';
import { reflectWgsl } from '../../src/gpu/wgsl-reflect.js';
import { reluForward } from '../../src/kernels/relu.js';
import { testEngine } from '../util/gpu.js';

const engine = await testEngine();

const COPY = defineKernel(
  'test_copy',
  `struct Params { n: u32, scale: f32, }
   @group(0) @binding(0) var<uniform> params: Params;
   @group(0) @binding(1) var<storage, read> src: array<f32>;
   @group(0) @binding(2) var<storage, read_write> dst: array<f32>;
   @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3u) {
     if (gid.x < params.n) { dst[gid.x] = src[gid.x] * params.scale; }
   }`,
);

describe('WGSL reflection', () => {
  it('reads Params fields, bindings and the bindings each entry point uses (not member accesses)', () => {
    const r = reflectWgsl(
      `struct Params { n: u32, k: i32, s: f32, }
       @group(0) @binding(0) var<uniform> params: Params;
       @group(0) @binding(1) var<storage, read> x: array<f32>;
       @group(0) @binding(2) var<storage, read_write> y: array<f32>;
       fn helper(i: u32) -> f32 { return x[i]; }
       @compute @workgroup_size(8) fn a(@builtin(global_invocation_id) g: vec3u) { y[g.x] = helper(g.x); }
       @compute @workgroup_size(8) fn b(@builtin(global_invocation_id) g: vec3u) { y[g.y] = f32(params.n); }`,
      't',
    );
    expect(r.params).toEqual([
      { name: 'n', type: 'u32' },
      { name: 'k', type: 'i32' },
      { name: 's', type: 'f32' },
    ]);
    expect(r.entryPoints.get('a')!.bindings.map((b) => b.name)).toEqual(['x', 'y']);
    expect(r.entryPoints.get('b')!.bindings.map((b) => b.name)).toEqual(['params', 'y']);
  });

  it('reads each entry point its own uniform struct, and module-scope integer constants', () => {
    const r = reflectWgsl(
      `const OP_ADD: u32 = 0u; const OP_MUL = 2u;
       struct Flat { n: u32, f: f32, }
       struct Wide { n: u32, s0: u32, s1: u32, }
       @group(0) @binding(0) var<uniform> flat: Flat;
       @group(0) @binding(1) var<uniform> wide: Wide;
       @group(0) @binding(2) var<storage, read_write> y: array<f32>;
       @compute @workgroup_size(8) fn a(@builtin(global_invocation_id) g: vec3u) { y[g.x] = flat.f; }
       @compute @workgroup_size(8) fn b(@builtin(global_invocation_id) g: vec3u) { y[g.x] = f32(wide.s1); }
       @compute @workgroup_size(8) fn c(@builtin(global_invocation_id) g: vec3u) { y[g.x] = 0.0; }`,
      't',
    );
    expect(r.entryPoints.get('a')!.params.map((f) => f.name)).toEqual(['n', 'f']);
    expect(r.entryPoints.get('b')!.paramsStruct).toBe('Wide');
    expect(r.entryPoints.get('b')!.params.map((f) => f.name)).toEqual(['n', 's0', 's1']);
    expect(r.entryPoints.get('c')!.params).toEqual([]);
    expect([...r.constants]).toEqual([
      ['OP_ADD', 0],
      ['OP_MUL', 2],
    ]);
  });

  it('wgslEnum reads ids from the WGSL and refuses names the two sides disagree on', () => {
    const k = defineKernel('test_enum', 'const ACT_RELU6: u32 = 3u; const ACT_HARD_SWISH: u32 = 5u; const OTHER = 1u;');
    expect(wgslEnum(k, 'ACT_', ['relu6', 'hardSwish'] as const)('hardSwish')).toBe(5);
    expect(() => wgslEnum(k, 'ACT_', ['relu6'] as const)('relu6')).toThrow(/not known to TypeScript ACT_HARD_SWISH/);
    expect(() => wgslEnum(k, 'ACT_', ['relu6', 'hardSwish', 'silu'] as const)('relu6')).toThrow(/missing ACT_SILU/);
  });
});

describe('engine', () => {
  it('packs params by name and runs many dispatches per submit', async () => {
    const src = engine.upload(
      Float32Array.from({ length: 100 }, (_, i) => i),
      [100],
    );
    let x = src;
    const submitsBefore = engine.stats.submits;
    for (let k = 0; k < 10; k++) {
      const y = engine.empty([100]);
      engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: x, dst: y }, params: { n: 100, scale: 2 }, workgroups: 2 });
      if (x !== src) engine.release(x);
      x = y;
    }
    const out = await x.readF32();
    expect(out[3]).toBe(3 * 1024);
    expect(engine.stats.submits - submitsBefore, 'ten dispatches and a readback in one or two submits').toBeLessThanOrEqual(2);
    engine.releaseAll(src, x);
  });

  it('reuses a bind group for the same buffers, with each dispatch reading its own params', async () => {
    const src = engine.upload(
      Float32Array.from({ length: 64 }, (_, i) => i + 1),
      [64],
    );
    const dst = engine.empty([64]);
    const first = engine.empty([64]);
    const before = engine.stats.bindGroups;
    // One batch: the same buffers three times; only the params differ, so only the uniform offset may.
    engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src, dst: first }, params: { n: 64, scale: 2 }, workgroups: 1 });
    engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src, dst }, params: { n: 64, scale: 3 }, workgroups: 1 });
    engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src, dst }, params: { n: 64, scale: 5 }, workgroups: 1 });
    const [a, b] = [await first.readF32(), await dst.readF32()];
    expect([a[9], b[9]], 'each dispatch read its own scale').toEqual([20, 50]);
    expect(engine.stats.bindGroups - before, 'one new bind group per distinct set of buffers').toBe(2);
    engine.releaseAll(src, dst, first);
  });

  it('pool: repeated identical passes get the same buffers and reuse every bind group', async () => {
    await engine.finish();
    const x = engine.upload(
      Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i)),
      [4096],
    );
    const pass = async () => {
      const ys = [];
      let y = x;
      for (let k = 0; k < 6; k++) {
        const next = engine.empty([4096]);
        engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: y, dst: next }, params: { n: 4096, scale: -1 }, workgroups: 64 });
        ys.push(next);
        y = next;
        // Releases out of allocation order: the next pass must not depend on it.
        if (k % 2 === 1) engine.release(ys[k - 1]);
      }
      const out = await y.readF32();
      for (const [k, t] of ys.entries()) if (k % 2 === 1) engine.release(t);
      await engine.finish();
      return out;
    };
    // The first pass may find other tests' buffers in the pool; from the second on, the buffers a pass
    // takes are the oldest of its size classes, which the pass before it took in the same order.
    await pass();
    await pass();
    const created = engine.pool.stats.createdBuffers;
    const groups = engine.stats.bindGroups;
    const out = await pass();
    expect(out[7]).toBeCloseTo(Math.sin(7), 6);
    expect(engine.pool.stats.createdBuffers, 'no new buffers').toBe(created);
    expect(engine.stats.bindGroups, 'no new bind groups').toBe(groups);
    engine.release(x);
  });

  it('names the kernel and the problem for a missing or unknown param or binding', () => {
    const a = engine.zeros([4]);
    const b = engine.empty([4]);
    expect(() => engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a, dst: b }, params: { n: 4 }, workgroups: 1 })).toThrow(
      /test_copy: param "scale" is missing/,
    );
    expect(() =>
      engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a, dst: b }, params: { n: 4, scale: 1, extra: 1 }, workgroups: 1 }),
    ).toThrow(/unknown param "extra"; struct Params has n, scale/);
    expect(() => engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a }, params: { n: 4, scale: 1 }, workgroups: 1 })).toThrow(
      /missing binding "dst"/,
    );
    expect(() => engine.dispatch({ kernel: COPY, entry: 'nope', bindings: { src: a, dst: b }, workgroups: 1 })).toThrow(
      /no entry point "nope"; it has main/,
    );
    expect(() =>
      engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a, dst: b }, params: { n: -1, scale: 1 }, workgroups: 1 }),
    ).toThrow(/n=-1 is not a u32/);
    engine.releaseAll(a, b);
  });

  it('makes a kernel with an `override WG` take its workgroup size from the caller, who sized the grid with it', async () => {
    const fill = defineKernel(
      'test_override_wg',
      `override WG: u32 = 64;\n@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n` +
        `@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < arrayLength(&y)) { y[g.x] = 1.0; } }`,
    );
    const y = engine.zeros([100]);
    expect(() => engine.dispatch({ kernel: fill, entry: 'main', bindings: { y }, workgroups: grid1d(100, 32) })).toThrow(
      /test_override_wg.main: pass the workgroup size the grid was computed with as constants.WG/,
    );
    // With the size it was sized for, every element is written (the shader's default of 64 is not used).
    engine.dispatch({ kernel: fill, entry: 'main', bindings: { y }, workgroups: grid1d(100, 32), constants: { WG: 32 } });
    expect(Array.from(await y.readF32()).every((v) => v === 1)).toBe(true);
    engine.release(y);
  });

  it('raises WGSL compilation errors with the kernel name and line', async () => {
    const broken = defineKernel(
      'test_broken',
      `@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1) fn main() { y[0] = undefined_thing; }`,
    );
    const y = engine.empty([1]);
    engine.dispatch({ kernel: broken, entry: 'main', bindings: { y }, workgroups: 1 });
    await expect(engine.finish()).rejects.toThrow(KernelCompileError);
    await expect(engine.finish()).resolves.toBeUndefined(); // reported once, then cleared
    engine.release(y);
  });

  it("names the batch's dispatches and their tensors' shapes in a GPU validation error", async () => {
    const alias = defineKernel(
      'test_alias',
      `@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@group(0) @binding(1) var<storage, read_write> b: array<f32>;\n` +
        `@compute @workgroup_size(1) fn main() { a[0] = b[1]; }`,
    );
    const src = engine.zeros([16]);
    const dst = engine.empty([2, 8]);
    engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src, dst }, params: { n: 16, scale: 1 }, workgroups: 1 });
    // One buffer bound writable twice: Dawn refuses the dispatch when the batch is submitted.
    engine.dispatch({ kernel: alias, entry: 'main', bindings: { a: src, b: src }, workgroups: 1 });
    const err = await engine.checkErrors().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GpuError);
    expect(String(err)).toMatch(
      /in a batch of \(last 8 shown\):\n\s+test_copy\.main src\[16\] dst\[2, 8\]\n\s+test_alias\.main a\[16\] b\[16\]/,
    );
    engine.releaseAll(src, dst);
    // The engine goes on after the error.
    const y = engine.zeros([4]);
    expect(Array.from(await y.readF32())).toEqual([0, 0, 0, 0]);
    engine.release(y);
  });

  it('catches use after release, zero-size and over-limit tensors, bad workgroup counts', () => {
    const t = engine.zeros([8]);
    t.release();
    expect(() => reluForward(engine, t)).toThrow(/used after release/);
    expect(() => engine.empty([3, 0, 2])).toThrow(/cannot allocate a tensor of shape \[3, 0, 2\]/);
    expect(() => engine.empty([Math.ceil(engine.limits.maxBufferSize / 4) + 1])).toThrow(GpuLimitError);
    const a = engine.zeros([4]);
    const b = engine.empty([4]);
    expect(() =>
      engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a, dst: b }, params: { n: 4, scale: 1 }, workgroups: 0 }),
    ).toThrow(KernelInputError);
    expect(() =>
      engine.dispatch({ kernel: COPY, entry: 'main', bindings: { src: a, dst: b }, params: { n: 4, scale: 1 }, workgroups: 70000 }),
    ).toThrow(/maxComputeWorkgroupsPerDimension/);
    engine.releaseAll(a, b);
    expect(grid1d(65535 * 256 + 1, 256)).toEqual([65535, 2, 1]);
  });

  it('pool: released buffers are reused only after a submit, and the counters balance', async () => {
    await engine.finish();
    const before = engine.pool.stats;
    const a = engine.empty([1000]);
    a.release();
    const b = engine.empty([1000]); // same size class, but no submit yet: a fresh buffer
    expect(engine.pool.stats.createdBuffers).toBeGreaterThan(before.createdBuffers);
    b.release();
    engine.flush();
    const created = engine.pool.stats.createdBuffers;
    const c = engine.empty([1000]);
    expect(engine.pool.stats.createdBuffers, 'reused after the submit').toBe(created);
    c.release();
    expect(engine.pool.stats.liveBytes).toBe(before.liveBytes);
    expect(sizeClass(1000 * 4)).toBeGreaterThanOrEqual(4000);
    expect(sizeClass(100 << 20)).toBeLessThan((100 << 20) * 1.13);
  });
});
