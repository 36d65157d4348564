// Elementwise ops over flat fp32 arrays.
//   binary_flat   c = op(a, b), same shapes             (OP: one of the OP_* below)
//   binary_bcast  c = op(a, b), NumPy broadcasting      (output shape s0..s5, input strides; 0 on broadcast axes)
//   add_inplace   acc += b                              (gradient accumulation at branch points)
//   map           y = f(x)                              (MAP: one of the MAP_* below; f0, f1 are its scalar operands)
//   fill          t = f0
//   fill_at       t[pairs[2j]] = bitcast<f32>(pairs[2j+1]) for j < n
// RELU_OUT fuses max(0, .) into the binary ops: the residual join relu(a + b) in one pass.
// The *4 entries do four neighbouring elements per invocation with vec4 loads, which more than
// doubles the throughput on lavapipe (loads, not arithmetic, are the cost there). Their `n` counts
// vec4s. binary_bcast4_* need the innermost broadcast axis to be a multiple of 4 long; an input
// that is broadcast along it (innermost stride 0) is read as one scalar (`_vs`: b, `_sv`: a).
// The broadcasting entries read `bcast: BcastParams`, every other entry `params: Params`.
// The OP_* and MAP_* ids are defined here only; src/kernels/elementwise.ts reads them (wgslEnum).

const OP_ADD: u32 = 0u;
const OP_SUB: u32 = 1u;
const OP_MUL: u32 = 2u;
const OP_DIV: u32 = 3u;
const OP_MAX: u32 = 4u;
const OP_MIN: u32 = 5u;

const MAP_ABS: u32 = 0u;
const MAP_RELU: u32 = 1u;
const MAP_EXP: u32 = 2u;
const MAP_LOG: u32 = 3u;
const MAP_SQRT: u32 = 4u;
const MAP_TANH: u32 = 5u;
const MAP_NEG: u32 = 6u;
const MAP_AFFINE: u32 = 7u;   // v * f0 + f1
const MAP_POW: u32 = 8u;      // v ^ f0
const MAP_CLAMP: u32 = 9u;    // clamp to [f0, f1]

struct Params {
  n: u32,
  f0: f32,
  f1: f32,
}

struct BcastParams {
  n: u32,
  s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32,
  sa0: u32, sa1: u32, sa2: u32, sa3: u32, sa4: u32, sa5: u32,
  sb0: u32, sb1: u32, sb2: u32, sb3: u32, sb4: u32, sb5: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read> pairs: array<u32>;
@group(0) @binding(7) var<storage, read> a4: array<vec4f>;
@group(0) @binding(8) var<storage, read> b4: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(10) var<storage, read> x4: array<vec4f>;
@group(0) @binding(11) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(12) var<uniform> bcast: BcastParams;

override WG: u32 = 256;
override OP: u32 = 0;
override MAP: u32 = 0;
override RELU_OUT: bool = false;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn apply_binary(u: f32, v: f32) -> f32 {
  var r: f32;
  switch OP {
    case OP_ADD: { r = u + v; }
    case OP_SUB: { r = u - v; }
    case OP_MUL: { r = u * v; }
    case OP_DIV: { r = u / v; }
    case OP_MAX: { r = max(u, v); }
    default: { r = min(u, v); }
  }
  if (RELU_OUT) { r = max(r, 0.0); }
  return r;
}

fn apply_binary4(u: vec4f, v: vec4f) -> vec4f {
  return vec4f(apply_binary(u.x, v.x), apply_binary(u.y, v.y), apply_binary(u.z, v.z), apply_binary(u.w, v.w));
}

@compute @workgroup_size(WG)
fn binary_flat(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  c[i] = apply_binary(a[i], b[i]);
}

@compute @workgroup_size(WG)
fn binary_flat4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  c4[i] = apply_binary4(a4[i], b4[i]);
}

// Peels one axis off the flat output index; axes of size 1 (the padding of lower ranks) cost nothing.
struct Peel { rest: u32, ia: u32, ib: u32, }

fn peel(p: Peel, size: u32, sa: u32, sb: u32) -> Peel {
  if (size == 1u) { return p; }
  let q = p.rest / size;
  let coord = p.rest - q * size;
  return Peel(q, p.ia + coord * sa, p.ib + coord * sb);
}

// Input offsets of output element i.
fn bcast_offsets(i: u32) -> Peel {
  var p = Peel(i, 0u, 0u);
  p = peel(p, bcast.s5, bcast.sa5, bcast.sb5);
  p = peel(p, bcast.s4, bcast.sa4, bcast.sb4);
  p = peel(p, bcast.s3, bcast.sa3, bcast.sb3);
  p = peel(p, bcast.s2, bcast.sa2, bcast.sb2);
  p = peel(p, bcast.s1, bcast.sa1, bcast.sb1);
  p = peel(p, bcast.s0, bcast.sa0, bcast.sb0);
  return p;
}

@compute @workgroup_size(WG)
fn binary_bcast(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= bcast.n) { return; }
  let p = bcast_offsets(i);
  c[i] = apply_binary(a[p.ia], b[p.ib]);
}

// Both inputs contiguous along the innermost axis.
@compute @workgroup_size(WG)
fn binary_bcast4_vv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= bcast.n) { return; }
  let p = bcast_offsets(4u * i);
  c4[i] = apply_binary4(a4[p.ia / 4u], b4[p.ib / 4u]);
}

// b broadcast along the innermost axis (e.g. a per-channel scale [1, C, 1, 1]).
@compute @workgroup_size(WG)
fn binary_bcast4_vs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= bcast.n) { return; }
  let p = bcast_offsets(4u * i);
  c4[i] = apply_binary4(a4[p.ia / 4u], vec4f(b[p.ib]));
}

// a broadcast along the innermost axis (e.g. a mask [N, 1, H, W] against [N, C, H, W] is _vv; this is
// [N, C, 1, 1] against [N, C, H, W]).
@compute @workgroup_size(WG)
fn binary_bcast4_sv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= bcast.n) { return; }
  let p = bcast_offsets(4u * i);
  c4[i] = apply_binary4(vec4f(a[p.ia]), b4[p.ib / 4u]);
}

@compute @workgroup_size(WG)
fn add_inplace(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  c[i] = c[i] + b[i];
}

@compute @workgroup_size(WG)
fn add_inplace4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  c4[i] = c4[i] + b4[i];
}

fn map_value(v: f32) -> f32 {
  switch MAP {
    case MAP_ABS: { return abs(v); }
    case MAP_RELU: { return max(v, 0.0); }
    case MAP_EXP: { return exp(v); }
    case MAP_LOG: { return log(v); }
    case MAP_SQRT: { return sqrt(v); }
    // tanh saturates to +-1 in fp32 long before 15; clamping keeps exp-based implementations from inf/inf.
    case MAP_TANH: { return tanh(clamp(v, -15.0, 15.0)); }
    case MAP_NEG: { return -v; }
    case MAP_AFFINE: { return v * params.f0 + params.f1; }
    case MAP_POW: { return pow_torch(v, params.f0); }
    default: { return min(max(v, params.f0), params.f1); }
  }
}

// WGSL pow is exp2(p * log2(v)): undefined for v < 0 and NaN for 0^0. PyTorch: 0^0 = 1, 0^p = 0 for p > 0,
// inf for p < 0; a negative base works for integer exponents and is NaN otherwise.
fn pow_torch(v: f32, p: f32) -> f32 {
  // `let`, not `const`: a constant inf or NaN is a WGSL compile error.
  let inf_bits = 0x7f800000u;
  let nan_bits = 0x7fc00000u;
  if (p == 0.0) { return 1.0; }
  if (v == 0.0) { return select(0.0, bitcast<f32>(inf_bits), p < 0.0); }
  let m = exp2(p * log2(abs(v)));
  if (v > 0.0) { return m; }
  if (floor(p) != p) { return bitcast<f32>(nan_bits); }
  let odd = abs(p - 2.0 * floor(p * 0.5)) == 1.0;
  return select(m, -m, odd);
}

@compute @workgroup_size(WG)
fn map(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y[i] = map_value(x[i]);
}

@compute @workgroup_size(WG)
fn map4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let v = x4[i];
  y4[i] = vec4f(map_value(v.x), map_value(v.y), map_value(v.z), map_value(v.w));
}

@compute @workgroup_size(WG)
fn fill4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y4[i] = vec4f(params.f0);
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  y[i] = params.f0;
}

@compute @workgroup_size(WG)
fn fill_at(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = flat_index(gid, nwg);
  if (j >= params.n) { return; }
  y[pairs[2u * j]] = bitcast<f32>(pairs[2u * j + 1u]);
}
