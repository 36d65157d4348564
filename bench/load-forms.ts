/**
 * What one storage-buffer load costs by its form: a scalar, a vec4, wider values (two vec4s, a mat4x4,
 * four adjacent vec4s) and a vec4 at a workgroup-uniform index, each lane of 8-lane workgroups loading
 * 64 values from a 64 MiB buffer. Prints loads/s and floats/s per form, twice, interleaved. The kernels'
 * load shapes follow from it (docs/adapter.md): on lavapipe a vec4 costs about 1.6 scalar loads, so a
 * window read as aligned vec4s beats a gather of single floats, and nothing wider does much better.
 *
 *   node tools/run-ts.mjs bench/load-forms.ts
 */
import { acquireEngine } from '../src/gpu/acquire.js';

const VEC4S = 1 << 22;
const LOADS_PER_LANE = 64;
const WORKGROUPS = 32768;
/** Highest vec4 a lane may start from: its loads stride past it by at most 64 x 16 vec4s. */
const LAST = VEC4S - LOADS_PER_LANE * 64 * 16 - 64;

interface Form {
  entry: string;
  /** Floats one load brings. */
  floats: number;
  binding: number;
}

const FORMS: Form[] = [
  { entry: 'scalar', floats: 1, binding: 0 },
  { entry: 'vec4', floats: 4, binding: 1 },
  { entry: 'two_vec4', floats: 8, binding: 3 },
  { entry: 'mat4x4', floats: 16, binding: 2 },
  { entry: 'adjacent_vec4x4', floats: 16, binding: 1 },
  { entry: 'uniform_vec4', floats: 4, binding: 1 },
];

// Each lane starts at its own index and strides so that lanes never share a cache line within a load.
const code = /* wgsl */ `
struct Two { a: vec4f, b: vec4f }
@group(0) @binding(0) var<storage, read> s1: array<f32>;
@group(0) @binding(1) var<storage, read> s4: array<vec4f>;
@group(0) @binding(2) var<storage, read> sm: array<mat4x4f>;
@group(0) @binding(3) var<storage, read> s2: array<Two>;
@group(0) @binding(9) var<storage, read_write> dst: array<vec4f>;

@compute @workgroup_size(8)
fn scalar(@builtin(global_invocation_id) g: vec3u) {
  var acc = vec4f(0.0); var i = (g.x * 8u) % ${LAST}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { acc.x += s1[i]; i += 64u; }
  dst[g.x] = acc;
}
@compute @workgroup_size(8)
fn vec4(@builtin(global_invocation_id) g: vec3u) {
  var acc = vec4f(0.0); var i = (g.x * 2u) % ${LAST / 4}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { acc += s4[i]; i += 16u; }
  dst[g.x] = acc;
}
@compute @workgroup_size(8)
fn two_vec4(@builtin(global_invocation_id) g: vec3u) {
  var acc = vec4f(0.0); var i = g.x % ${LAST / 8}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { let m = s2[i]; acc += m.a + m.b * 2.0; i += 8u; }
  dst[g.x] = acc;
}
@compute @workgroup_size(8)
fn mat4x4(@builtin(global_invocation_id) g: vec3u) {
  var acc = vec4f(0.0); var i = g.x % ${LAST / 16}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { let m = sm[i]; acc += m[0] + m[1] * 2.0 + m[2] * 3.0 + m[3] * 4.0; i += 8u; }
  dst[g.x] = acc;
}
@compute @workgroup_size(8)
fn adjacent_vec4x4(@builtin(global_invocation_id) g: vec3u) {
  var acc = vec4f(0.0); var i = (g.x * 4u) % ${LAST / 4}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { acc += s4[i] + s4[i + 1u] * 2.0 + s4[i + 2u] * 3.0 + s4[i + 3u] * 4.0; i += 32u; }
  dst[g.x] = acc;
}
@compute @workgroup_size(8)
fn uniform_vec4(@builtin(global_invocation_id) g: vec3u, @builtin(workgroup_id) w: vec3u) {
  var acc = vec4f(0.0); var i = (w.x * 16u) % ${LAST / 4}u;
  for (var k = 0u; k < ${LOADS_PER_LANE}u; k++) { acc += s4[i] * f32(g.x); i += 16u; }
  dst[g.x] = acc;
}
`;

const e = await acquireEngine();
const d = e.device;
const src = d.createBuffer({ size: VEC4S * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'load-forms.src' });
d.queue.writeBuffer(
  src,
  0,
  Float32Array.from({ length: VEC4S * 4 }, (_, i) => (i % 97) * 0.01),
);
const dst = d.createBuffer({ size: WORKGROUPS * 8 * 16, usage: GPUBufferUsage.STORAGE, label: 'load-forms.dst' });
const module = d.createShaderModule({ code });
console.log(`adapter: ${e.adapter.description}; ${WORKGROUPS} workgroups of 8 lanes, ${LOADS_PER_LANE} loads per lane`);
for (let round = 1; round <= 2; round++) {
  for (const form of FORMS) {
    const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: form.entry } });
    const group = d.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: form.binding, resource: { buffer: src } },
        { binding: 9, resource: { buffer: dst } },
      ],
    });
    const run = async () => {
      const enc = d.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(WORKGROUPS);
      pass.end();
      d.queue.submit([enc.finish()]);
      await d.queue.onSubmittedWorkDone();
    };
    await run(); // compile
    const ms: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      await run();
      ms.push(performance.now() - t0);
    }
    const median = ms.sort((a, b) => a - b)[2];
    const loads = WORKGROUPS * 8 * LOADS_PER_LANE;
    const perSecond = (n: number) => ((n / median) * 1e3) / 1e9;
    console.log(
      `round ${round} ${form.entry.padEnd(16)} ${median.toFixed(1).padStart(6)} ms  ${perSecond(loads).toFixed(2)} G loads/s  ${perSecond(loads * form.floats).toFixed(2)} G floats/s`,
    );
  }
}
src.destroy();
dst.destroy();
e.destroy();
