// Activations beyond ReLU (relu.wgsl), forward and backward side by side. ACT selects one.
//   z: forward input, y: forward output, R: upstream gradient (dL/dy), dz: gradient w.r.t. z,
//   sig(v) = 1 / (1 + exp(-v)).
//   ACT_RELU6        y = min(max(z, 0), 6)              dz = R [0 < z < 6]        (reads y: 0 < y < 6 exactly there)
//   ACT_HARDSWISH    y = z min(max(z + 3, 0), 6) / 6    dz = R (0 for z < -3; z / 3 + 1/2 for z <= 3; 1 above)
//   ACT_HARDSIGMOID  y = min(max(z + 3, 0), 6) / 6      dz = R [-3 < z < 3] / 6
//   ACT_SILU         y = z sig(z)                       dz = R sig(z) (1 + z (1 - sig(z)))
//   ACT_SIGMOID      y = sig(z)                         dz = R y (1 - y)            (reads y)
// Formulas, operation order and boundary values are PyTorch's CPU kernels' (hardswish's gradient is
// -1/2 at z = -3 and 3/2 at z = 3). `saved` holds z, or y where the line says so.
// ReLU6 is a ReLU-family unit, so the guided and DeconvNet rules apply to it as to ReLU: MASK_Z keeps
// [0 < z < 6], MASK_R multiplies by [R > 0] (src/kernels/relu.ts RULE_MASKS). The smooth activations
// take the plain gradient under every rule; src/kernels/activation.ts refuses another rule for them.

const ACT_RELU6: u32 = 0u;
const ACT_HARDSWISH: u32 = 1u;
const ACT_HARDSIGMOID: u32 = 2u;
const ACT_SILU: u32 = 3u;
const ACT_SIGMOID: u32 = 4u;

struct Params { n: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // forward: z
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // forward: y
@group(0) @binding(3) var<storage, read> saved: array<f32>;     // backward: z or y (see above)
@group(0) @binding(4) var<storage, read> dy: array<f32>;        // backward: R
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;  // backward: dz

override WG: u32 = 256;
override ACT: u32 = 0u;
override MASK_Z: bool = true;
override MASK_R: bool = false;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn sig(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

fn activate(z: f32) -> f32 {
  switch ACT {
    case ACT_RELU6: { return min(max(z, 0.0), 6.0); }
    case ACT_HARDSWISH: { return z * min(max(z + 3.0, 0.0), 6.0) / 6.0; }
    case ACT_HARDSIGMOID: { return min(max(z + 3.0, 0.0), 6.0) / 6.0; }
    // z / (1 + exp(-z)), not z * sig(z): PyTorch's order, and exact 0 (not NaN) where exp overflows.
    case ACT_SILU: { return z / (1.0 + exp(-z)); }
    default: { return sig(z); }
  }
}

// dL/dz for upstream r, given the saved value s (z or y as the header says).
fn gradient(s: f32, r: f32) -> f32 {
  switch ACT {
    case ACT_RELU6: {
      let pass_z = !MASK_Z || (s > 0.0 && s < 6.0);
      let pass_r = !MASK_R || r > 0.0;
      return select(0.0, r, pass_z && pass_r);
    }
    case ACT_HARDSWISH: {
      if (s < -3.0) { return 0.0; }
      if (s <= 3.0) { return r * (s / 3.0 + 0.5); }
      return r;
    }
    case ACT_HARDSIGMOID: { return select(0.0, r / 6.0, s > -3.0 && s < 3.0); }
    case ACT_SILU: {
      let g = sig(s);
      return r * g * (1.0 + s * (1.0 - g));
    }
    default: { return r * (1.0 - s) * s; }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y[i] = activate(x[i]);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  dx[i] = gradient(saved[i], dy[i]);
}
