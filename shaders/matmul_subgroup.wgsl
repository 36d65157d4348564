enable subgroups;

// Matmul with subgroup broadcasts, for lavapipe (docs/adapter.md): storage loads dominate there, while
// subgroupBroadcast costs about a cycle. Each lane loads one vec4 that the other lanes need and
// broadcasts it, so every value is fetched once per subgroup. Same contract as matmul.wgsl:
// C = A @ B (+ bias over columns) (+ old C) (then ReLU), batched over workgroup_id.z, A the logical
// (M, K) matrix at a_off + batch*a_bs + m*a_rs + k*a_cs, B the logical (K, N) matrix at
// b_off + batch*b_bs + k*b_rs + n*b_cs, C (M, N) at c_off + batch*c_bs + m*c_rs + n.
//
// A workgroup is exactly one subgroup of 8 lanes (broadcast lane ids must be constants, so the tile
// is written for 8). Correct for any subgroup size >= 8; matmul.ts only picks this file when the
// adapter's minimum subgroup size is at least 8.
//   nn     A vec4 along k, B and C vec4 along n. Lane l loads A[m0 + l, k..k+3] (and row m0 + 8 + l);
//          for each row the subgroup broadcasts it and every lane multiplies into its own 4 columns:
//          16 rows x 32 columns per subgroup, 6 loads per 256 FMAs.
//   nn_sa  8 rows as nn with A read as scalars at any strides (transposed A, unaligned views).
//   nt     A and B both vec4 along k (B stored (N, K): a PyTorch linear weight). Lane l owns output
//          column n0 + l and loads A row m0 + l; 8 rows x 8 columns per subgroup.
//   vecmat nn for M == 1 (linear backward at batch 1): lane l loads x[k + 4l..] once, the subgroup walks
//          32 k per shuffle round and each lane its own 16 columns. Each weight read once, as vec4.
//   gemv   nt for M == 1 (linear at batch 1): lane l loads x[k + 4l..] once and the subgroup walks 8
//          vec4 of each weight row per broadcast round. Memory-bound: each weight read once, as vec4.

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32,
  c_off: u32, c_rs: u32, c_bs: u32,
  bias_off: u32,
  flags: u32,  // epilogue: 1 add bias, 2 accumulate into C, 4 ReLU
  wy_log2: u32, // unused here (matmul.wgsl's reg* layout); one Params for both files
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> a4: array<vec4f>;
@group(0) @binding(3) var<storage, read> b4: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> c4: array<vec4f>;

// Epilogue switches travel in the uniforms rather than as override constants: a uniform branch per
// output costs nothing, while each extra pipeline costs seconds of LLVM time on lavapipe.
const HAS_BIAS = 1u;
const ACCUMULATE = 2u;
const RELU = 4u;

fn flag(f: u32) -> bool {
  return (params.flags & f) != 0u;
}

fn store1(bz: u32, m: u32, n: u32, v: f32) {
  let i = params.c_off + bz * params.c_bs + m * params.c_rs + n;
  var r = v;
  if (flag(HAS_BIAS)) { r += bias[params.bias_off + n]; }
  if (flag(ACCUMULATE)) { r += c[i]; }
  if (flag(RELU)) { r = max(r, 0.0); }
  c[i] = r;
}

fn store4(bz: u32, m: u32, n4: u32, v: vec4f) {
  let i = (params.c_off + bz * params.c_bs + m * params.c_rs) / 4u + n4;
  var r = v;
  if (flag(HAS_BIAS)) {
    let o = params.bias_off + 4u * n4;
    r += vec4f(bias[o], bias[o + 1u], bias[o + 2u], bias[o + 3u]);
  }
  if (flag(ACCUMULATE)) { r += c4[i]; }
  if (flag(RELU)) { r = max(r, vec4f(0.0)); }
  c4[i] = r;
}

fn hsum(v: vec4f) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// The 8 row accumulators of a subgroup tile, rows m0..m0+7.
struct Rows8 { r0: vec4f, r1: vec4f, r2: vec4f, r3: vec4f, r4: vec4f, r5: vec4f, r6: vec4f, r7: vec4f, }

fn store_rows4(bz: u32, m0: u32, n4: u32, t: Rows8) {
  if (n4 >= params.N / 4u) { return; }
  let M = params.M;
  if (m0 < M) { store4(bz, m0, n4, t.r0); }
  if (m0 + 1u < M) { store4(bz, m0 + 1u, n4, t.r1); }
  if (m0 + 2u < M) { store4(bz, m0 + 2u, n4, t.r2); }
  if (m0 + 3u < M) { store4(bz, m0 + 3u, n4, t.r3); }
  if (m0 + 4u < M) { store4(bz, m0 + 4u, n4, t.r4); }
  if (m0 + 5u < M) { store4(bz, m0 + 5u, n4, t.r5); }
  if (m0 + 6u < M) { store4(bz, m0 + 6u, n4, t.r6); }
  if (m0 + 7u < M) { store4(bz, m0 + 7u, n4, t.r7); }
}

// Columns of B for this lane: the vec4 index of (k = 0, n = 4 * n4), clamped in bounds.
fn b_col4(bz: u32, n4: u32) -> u32 {
  return (params.b_off + bz * params.b_bs) / 4u + min(n4, params.N / 4u - 1u);
}

// Rows m0..m0+7 of a tile += A[rows, k..k+3] @ B[k..k+3, lane's columns]; lane r holds A's row r in av.
fn acc_rows8(t: ptr<function, Rows8>, av: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  var s = subgroupBroadcast(av, 0u);
  (*t).r0 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 1u);
  (*t).r1 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 2u);
  (*t).r2 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 3u);
  (*t).r3 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 4u);
  (*t).r4 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 5u);
  (*t).r5 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 6u);
  (*t).r6 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
  s = subgroupBroadcast(av, 7u);
  (*t).r7 += s.x * b0 + s.y * b1 + s.z * b2 + s.w * b3;
}

// 16 rows: the 4 B loads per k step feed twice the FMAs of an 8-row tile (about 20% faster on
// lavapipe at 1024^3, although the 64 accumulator floats per lane spill).
@compute @workgroup_size(8)
fn nn(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let bz = wid.z;
  let m0 = wid.y * 16u;
  let n4 = wid.x * 8u + lane;
  let abase = params.a_off + bz * params.a_bs;
  let arow0 = (abase + min(m0 + lane, params.M - 1u) * params.a_rs) / 4u;
  let arow1 = (abase + min(m0 + 8u + lane, params.M - 1u) * params.a_rs) / 4u;
  let bcol = b_col4(bz, n4);
  let ldb4 = params.b_rs / 4u;
  var t = Rows8(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  var u = t;
  let K4 = params.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let bi = bcol + k4 * 4u * ldb4;
    let b0 = b4[bi];
    let b1 = b4[bi + ldb4];
    let b2 = b4[bi + 2u * ldb4];
    let b3 = b4[bi + 3u * ldb4];
    acc_rows8(&t, a4[arow0 + k4], b0, b1, b2, b3);
    acc_rows8(&u, a4[arow1 + k4], b0, b1, b2, b3);
  }
  store_rows4(bz, m0, n4, t);
  store_rows4(bz, m0 + 8u, n4, u);
}

@compute @workgroup_size(8)
fn nn_sa(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let bz = wid.z;
  let m0 = wid.y * 8u;
  let n4 = wid.x * 8u + lane;
  let arow = params.a_off + bz * params.a_bs + min(m0 + lane, params.M - 1u) * params.a_rs;
  let bcol = b_col4(bz, n4);
  let ldb4 = params.b_rs / 4u;
  var t = Rows8(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var k = 0u; k < params.K; k++) {
    let av = a[arow + k * params.a_cs];
    let bv = b4[bcol + k * ldb4];
    t.r0 += subgroupBroadcast(av, 0u) * bv;
    t.r1 += subgroupBroadcast(av, 1u) * bv;
    t.r2 += subgroupBroadcast(av, 2u) * bv;
    t.r3 += subgroupBroadcast(av, 3u) * bv;
    t.r4 += subgroupBroadcast(av, 4u) * bv;
    t.r5 += subgroupBroadcast(av, 5u) * bv;
    t.r6 += subgroupBroadcast(av, 6u) * bv;
    t.r7 += subgroupBroadcast(av, 7u) * bv;
  }
  store_rows4(bz, m0, n4, t);
}

@compute @workgroup_size(8)
fn nt(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let bz = wid.z;
  let M = params.M;
  let N = params.N;
  let m0 = wid.y * 8u;
  let n = wid.x * 8u + lane;
  let arow = (params.a_off + bz * params.a_bs + min(m0 + lane, M - 1u) * params.a_rs) / 4u;
  let brow = (params.b_off + bz * params.b_bs + min(n, N - 1u) * params.b_cs) / 4u;
  var t = Rows8(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  let K4 = params.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let w = b4[brow + k4];
    let xv = a4[arow + k4];
    t.r0 += subgroupBroadcast(xv, 0u) * w;
    t.r1 += subgroupBroadcast(xv, 1u) * w;
    t.r2 += subgroupBroadcast(xv, 2u) * w;
    t.r3 += subgroupBroadcast(xv, 3u) * w;
    t.r4 += subgroupBroadcast(xv, 4u) * w;
    t.r5 += subgroupBroadcast(xv, 5u) * w;
    t.r6 += subgroupBroadcast(xv, 6u) * w;
    t.r7 += subgroupBroadcast(xv, 7u) * w;
  }
  if (n >= N) { return; }
  if (m0 < M) { store1(bz, m0, n, hsum(t.r0)); }
  if (m0 + 1u < M) { store1(bz, m0 + 1u, n, hsum(t.r1)); }
  if (m0 + 2u < M) { store1(bz, m0 + 2u, n, hsum(t.r2)); }
  if (m0 + 3u < M) { store1(bz, m0 + 3u, n, hsum(t.r3)); }
  if (m0 + 4u < M) { store1(bz, m0 + 4u, n, hsum(t.r4)); }
  if (m0 + 5u < M) { store1(bz, m0 + 5u, n, hsum(t.r5)); }
  if (m0 + 6u < M) { store1(bz, m0 + 6u, n, hsum(t.r6)); }
  if (m0 + 7u < M) { store1(bz, m0 + 7u, n, hsum(t.r7)); }
}

@compute @workgroup_size(8)
fn gemv(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let bz = wid.z;
  let N = params.N;
  let n = wid.x * 8u + lane;
  let arow = (params.a_off + bz * params.a_bs) / 4u;
  let brow = (params.b_off + bz * params.b_bs + min(n, N - 1u) * params.b_cs) / 4u;
  let K4 = params.K / 4u;
  // Two accumulators halve the dependency chain through the adds.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var k4 = 0u;
  for (; k4 + 8u <= K4; k4 += 8u) {
    let xv = a4[arow + k4 + lane];
    let w = brow + k4;
    acc0 += subgroupBroadcast(xv, 0u) * b4[w];
    acc1 += subgroupBroadcast(xv, 1u) * b4[w + 1u];
    acc0 += subgroupBroadcast(xv, 2u) * b4[w + 2u];
    acc1 += subgroupBroadcast(xv, 3u) * b4[w + 3u];
    acc0 += subgroupBroadcast(xv, 4u) * b4[w + 4u];
    acc1 += subgroupBroadcast(xv, 5u) * b4[w + 5u];
    acc0 += subgroupBroadcast(xv, 6u) * b4[w + 6u];
    acc1 += subgroupBroadcast(xv, 7u) * b4[w + 7u];
  }
  for (; k4 < K4; k4++) {
    acc0 += a4[arow + k4] * b4[brow + k4];
  }
  if (n < N) { store1(bz, 0u, n, hsum(acc0 + acc1)); }
}

// x[k..k+3] times rows k..k+3 of B at 4 columns (bi: vec4 index of row k).
fn k4_step(x: vec4f, bi: u32, ldb4: u32) -> vec4f {
  return x.x * b4[bi] + x.y * b4[bi + ldb4] + x.z * b4[bi + 2u * ldb4] + x.w * b4[bi + 3u * ldb4];
}

struct Quad { q0: vec4f, q1: vec4f, q2: vec4f, q3: vec4f, }

// Each lane owns 16 neighbouring columns (4 vec4), so a subgroup reads 512 contiguous bytes of every
// row of B it visits: with 4 columns per lane the walk down 100 KB-apart rows ran 1.4x slower.
@compute @workgroup_size(8)
fn vecmat(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let bz = wid.z;
  let N4 = params.N / 4u;
  let n4 = (wid.x * 8u + lane) * 4u;
  let arow = (params.a_off + bz * params.a_bs) / 4u;
  let bbase = (params.b_off + bz * params.b_bs) / 4u;
  // Clamped columns keep loads in bounds; they are not stored.
  let c0 = bbase + min(n4, N4 - 1u);
  let c1 = bbase + min(n4 + 1u, N4 - 1u);
  let c2 = bbase + min(n4 + 2u, N4 - 1u);
  let c3 = bbase + min(n4 + 3u, N4 - 1u);
  let ldb4 = params.b_rs / 4u;
  let step = 4u * ldb4; // four rows of B further down
  let K4 = params.K / 4u;
  var acc = Quad(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  var k4 = 0u;
  for (; k4 + 8u <= K4; k4 += 8u) {
    let xv = a4[arow + k4 + lane];
    for (var j = 0u; j < 8u; j++) {
      // A shuffle takes a runtime lane id, unlike subgroupBroadcast, so this loop need not be unrolled
      // by hand.
      let s = subgroupShuffle(xv, j);
      let row = (k4 + j) * step;
      acc.q0 += k4_step(s, row + c0, ldb4);
      acc.q1 += k4_step(s, row + c1, ldb4);
      acc.q2 += k4_step(s, row + c2, ldb4);
      acc.q3 += k4_step(s, row + c3, ldb4);
    }
  }
  for (; k4 < K4; k4++) {
    let s = a4[arow + k4];
    let row = k4 * step;
    acc.q0 += k4_step(s, row + c0, ldb4);
    acc.q1 += k4_step(s, row + c1, ldb4);
    acc.q2 += k4_step(s, row + c2, ldb4);
    acc.q3 += k4_step(s, row + c3, ldb4);
  }
  if (n4 < N4) { store4(bz, 0u, n4, acc.q0); }
  if (n4 + 1u < N4) { store4(bz, 0u, n4 + 1u, acc.q1); }
  if (n4 + 2u < N4) { store4(bz, 0u, n4 + 2u, acc.q2); }
  if (n4 + 3u < N4) { store4(bz, 0u, n4 + 3u, acc.q3); }
}
