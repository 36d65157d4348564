// The adapter's ALU ceiling: register FMAs only, no memory traffic inside the loop.
// Every kernel's GFLOP/s in bench/ is reported as a ratio to what this reaches in the same run.
//
// Each invocation runs 4 independent vec4 accumulator chains (the FMA latency is hidden by
// instruction-level parallelism, and 16 vector registers hold them all on AVX2 without spills),
// each advanced by 8 dependent FMAs per loop iteration:
//   c = fma(c, mul, add)   => 8 FLOPs per vec4 FMA (4 lanes x mul+add)
// FLOPs per invocation = iters * 4 chains * 8 steps * 8 = iters * 256.
//
// Why 8 steps per iteration: a software adapter (lavapipe) pays a masked write-back of every
// loop-carried variable per iteration (its loops run SIMD lanes under an execution mask); with one
// FMA per iteration that bookkeeping halves the throughput. 8 steps make it noise.
//
// Why the work cannot be folded away or slow down:
//   - mul, add and iters come from the uniform, the start values from the invocation id;
//   - with |mul| < 1 each chain converges to add / (1 - mul): no overflow, no denormals (which are
//     slow on a CPU adapter);
//   - the sum of all chains is stored once at the end, so every FMA feeds the result.

struct Params { iters: u32, mul: f32, add: f32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

fn step4(c: vec4f, m: vec4f, a: vec4f) -> vec4f {
  return fma(fma(fma(fma(c, m, a), m, a), m, a), m, a);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let s = f32(i & 1023u) * 1e-3;
  let m = vec4f(params.mul);
  let a = vec4f(params.add);
  var c0 = vec4f(s, s + 0.1, s + 0.2, s + 0.3);
  var c1 = c0 + 0.01;
  var c2 = c0 + 0.02;
  var c3 = c0 + 0.03;
  for (var k = 0u; k < params.iters; k++) {
    c0 = step4(step4(c0, m, a), m, a);
    c1 = step4(step4(c1, m, a), m, a);
    c2 = step4(step4(c2, m, a), m, a);
    c3 = step4(step4(c3, m, a), m, a);
  }
  let t = (c0 + c1) + (c2 + c3);
  out[i] = t.x + t.y + t.z + t.w;
}
