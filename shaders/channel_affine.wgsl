// Per-channel affine map: batch-norm in inference form, y = x * scale[c] + shift[c]
// (scale = gamma / sqrt(var + eps), shift = beta - mean * scale), with an optional fused ReLU.
//   x, y, dy, dx: (N, C, S) with S the product of the spatial dims (1 for (N, C) inputs)
//   scale, shift: (C)
// One invocation per element, or per 4 elements when S % 4 == 0 (a vec4 then never straddles channels).

struct Params { n: u32, s: u32, c: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> dx4: array<vec4<f32>>;

override WG: u32 = 256;
override RELU: u32 = 0;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let c = (i / params.s) % params.c;
  var v = x[i] * scale[c] + shift[c];
  if (RELU != 0u) { v = max(v, 0.0); }
  y[i] = v;
}

// i indexes vec4s; params.n and params.s count scalars.
@compute @workgroup_size(WG)
fn forward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n / 4u) { return; }
  let c = (i * 4u / params.s) % params.c;
  var v = x4[i] * scale[c] + shift[c];
  if (RELU != 0u) { v = max(v, vec4<f32>(0.0)); }
  y4[i] = v;
}

// dy -> dx = dy * scale[c]. A fused ReLU's mask is applied by the ReLU backward, not here.
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  dx[i] = dy[i] * scale[(i / params.s) % params.c];
}

@compute @workgroup_size(WG)
fn backward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n / 4u) { return; }
  dx4[i] = dy4[i] * scale[(i * 4u / params.s) % params.c];
}
