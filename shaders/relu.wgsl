// ReLU forward and its three backward rules, side by side.
//   z: ReLU forward input, R: upstream gradient (dL/dy), dx: gradient w.r.t. z.
//   RULE 0 standard   dx = R * [z > 0]
//   RULE 1 guided     dx = R * [z > 0] * [R > 0]
//   RULE 2 deconvnet  dx = R * [R > 0]          (ignores z: the "backward ReLU" of Zeiler & Fergus)
// The gradient at z == 0 is 0, as in PyTorch.

struct Params { n: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // forward: input; backward: z
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // forward: output
@group(0) @binding(3) var<storage, read> dy: array<f32>;       // backward: R
@group(0) @binding(4) var<storage, read_write> dx: array<f32>; // backward: result

override WG: u32 = 256;
override RULE: u32 = 0;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y[i] = max(x[i], 0.0);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let r = dy[i];
  var pass_z = x[i] > 0.0;
  if (RULE == 2u) { pass_z = true; }
  var pass_r = true;
  if (RULE != 0u) { pass_r = r > 0.0; }
  dx[i] = select(0.0, r, pass_z && pass_r);
}
