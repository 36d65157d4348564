// ReLU forward and its three backward rules, side by side.
//   z: ReLU forward input, R: upstream gradient (dL/dy), dx: gradient w.r.t. z.
//   standard   dx = R * [z > 0]                  MASK_Z
//   guided     dx = R * [z > 0] * [R > 0]        MASK_Z and MASK_R
//   deconvnet  dx = R * [R > 0]                  MASK_R (ignores z: the "backward ReLU" of Zeiler & Fergus)
// A rule is the pair of masks it multiplies R by; src/kernels/relu.ts names the pairs (RULE_MASKS).
// The gradient at z == 0 is 0, as in PyTorch. With PLUS, R is dy + plus: the gradient the ReLU's output
// received from two readers (a residual block's shortcut and its first conv), summed in the same pass.

struct Params { n: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // forward: input; backward: z (or y: [y > 0] == [z > 0])
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // forward: output
@group(0) @binding(3) var<storage, read> dy: array<f32>;       // backward: R
@group(0) @binding(4) var<storage, read_write> dx: array<f32>; // backward: result
// The same tensors as vec4s, for sizes divisible by 4 (forward4, backward4: four elements per invocation,
// over twice as fast on a software adapter, where loads, not arithmetic, are the cost).
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> plus: array<f32>;        // added to dy when PLUS; bound to dy otherwise
@group(0) @binding(10) var<storage, read> plus4: array<vec4<f32>>;

override WG: u32 = 256;
override MASK_Z: bool = true;
override MASK_R: bool = false;
override PLUS: bool = false;

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
  var r = dy[i];
  if (PLUS) { r += plus[i]; }
  let pass_z = !MASK_Z || x[i] > 0.0;
  let pass_r = !MASK_R || r > 0.0;
  dx[i] = select(0.0, r, pass_z && pass_r);
}

// params.n counts vec4s here.
@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y4[i] = max(x4[i], vec4f(0.0));
}

@compute @workgroup_size(WG)
fn backward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  var r = dy4[i];
  if (PLUS) { r += plus4[i]; }
  let pass_z = select(vec4<bool>(true), x4[i] > vec4f(0.0), MASK_Z);
  let pass_r = select(vec4<bool>(true), r > vec4f(0.0), MASK_R);
  dx4[i] = select(vec4f(0.0), r, pass_z & pass_r);
}
