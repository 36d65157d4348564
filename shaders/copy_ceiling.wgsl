// The adapter's memory ceiling for the bench: a plain copy, y = x, one vec4 loaded and one stored per
// invocation and loop step, consecutive invocations on consecutive vec4s. Memory-bound kernels (linear
// at batch 1, the elementwise ops) are reported as a ratio of their GB/s to this kernel's, measured in
// the same run, as compute-bound ones are to the FMA ceiling (fma_ceiling.wgsl). GB/s counts the
// bytes read plus the bytes written.

struct Params { n4: u32, stride: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

override WG: u32 = 64;

// Each invocation walks the buffer in steps of `stride` vec4s (the whole dispatch's width).
@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3u) {
  for (var i = gid.x; i < params.n4; i += params.stride) {
    y4[i] = x4[i];
  }
}
