// Matmul without subgroups: C = A @ B (+ bias over columns) (+ old C) (then ReLU), batched over
// workgroup_id.z. A is the logical (M, K) matrix at a_off + batch*a_bs + m*a_rs + k*a_cs, B the logical
// (K, N) matrix at b_off + batch*b_bs + k*b_rs + n*b_cs, so transposes and column blocks of a larger
// matrix are only strides. C is (M, N) at c_off + batch*c_bs + m*c_rs + n (unit column stride).
//   reg      any strides, scalar loads; each invocation a 4x4 block. The fallback for layouts the
//            vectorised entries cannot read, on every adapter.
//   reg_nn4  A read as vec4 along k, B and C as vec4 along n (all offsets and strides multiples of 4):
//            4 rows x 4 columns per invocation from 4 A loads + 4 B loads per 4 k steps.
//   reg_nt4  A and B both read as vec4 along k (B stored (N, K): a PyTorch linear weight); each
//            invocation 4 rows x 1 column.
//   tiled    classic shared-memory tiles, 64x64 outputs by 8 deep, 16x16 invocations of 4x4, any
//            strides (real GPUs, where workgroup memory is fast; on lavapipe it is the slowest of
//            these, see docs/adapter.md).
//   gemv     up to 4 rows of A (a linear layer at batch 1-4) times B stored (N, K), on real GPUs: a
//            64-row tile would leave 63 of 64 rows idle and read B with 32-byte runs (an H200 read a
//            25088 -> 4096 layer's weights at 2 % of its bandwidth). 32 invocations share each column,
//            reading 512 contiguous bytes of its row per step, and sum in workgroup memory.
//   vecmat   up to 4 rows of A times B stored (K, N) (backward of a linear layer): each invocation
//            owns 4 columns of B for 1/8 of K; the 8 slices sum in workgroup memory.
// The reg* workgroups are 64 invocations laid out as a (64 / WY) x WY grid (x along n, y along m), WY
// from the uniforms so one pipeline serves every shape. Without workgroup memory nothing is shared
// between invocations; the layout only decides how many are idle, and matmul.ts keeps WY to the rows M
// fills (a batch-1 linear layer would otherwise compute its one row 8 times).
// The `4` entries need 16-byte aligned views, which the TypeScript side checks before choosing them.

struct Params {
  M: u32, N: u32, K: u32,
  a_off: u32, a_rs: u32, a_cs: u32, a_bs: u32,
  b_off: u32, b_rs: u32, b_cs: u32, b_bs: u32,
  c_off: u32, c_rs: u32, c_bs: u32,
  bias_off: u32,
  flags: u32,  // epilogue: 1 add bias, 2 accumulate into C, 4 ReLU
  wy_log2: u32, // reg* entries: log2 of the invocation rows per workgroup
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> a4: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> b4: array<vec4f>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
@group(0) @binding(7) var<storage, read_write> c4: array<vec4f>;

// Epilogue switches travel in the uniforms rather than as override constants: a uniform branch per
// output costs nothing, while each extra pipeline costs seconds of LLVM time on lavapipe.
const HAS_BIAS = 1u;
const ACCUMULATE = 2u;
const RELU = 4u;

fn flag(f: u32) -> bool {
  return (params.flags & f) != 0u;
}

fn finish1(v: f32, n: u32, i: u32) -> f32 {
  var r = v;
  if (flag(HAS_BIAS)) { r += bias[params.bias_off + n]; }
  if (flag(ACCUMULATE)) { r += c[i]; }
  if (flag(RELU)) { r = max(r, 0.0); }
  return r;
}

fn store1(bz: u32, m: u32, n: u32, v: f32) {
  let i = params.c_off + bz * params.c_bs + m * params.c_rs + n;
  c[i] = finish1(v, n, i);
}

// Row m, columns n0 + j * step for j = 0..3 (those inside N).
fn store_row(bz: u32, m: u32, n0: u32, step: u32, v: vec4f) {
  if (m >= params.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j * step;
    if (n < params.N) { store1(bz, m, n, v[j]); }
  }
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

// Invocation (x, y) of a reg* workgroup and the grid's extent (WX, WY) in invocations.
struct RegLayout { x: u32, y: u32, wx: u32, wy: u32, }

fn reg_layout(li: u32) -> RegLayout {
  let wy = 1u << params.wy_log2;
  let wx = 64u >> params.wy_log2;
  return RegLayout(li & (wx - 1u), li >> (6u - params.wy_log2), wx, wy);
}

@compute @workgroup_size(64)
fn reg(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let lid = reg_layout(li);
  let bz = wid.z;
  let M = params.M;
  let N = params.N;
  let m0 = (wid.y * lid.wy + lid.y) * 4u;
  let n0 = (wid.x * lid.wx + lid.x) * 4u;
  let abase = params.a_off + bz * params.a_bs;
  let bbase = params.b_off + bz * params.b_bs;
  // Clamped rows and columns keep every load in bounds; their results are never stored.
  let ar0 = abase + min(m0, M - 1u) * params.a_rs;
  let ar1 = abase + min(m0 + 1u, M - 1u) * params.a_rs;
  let ar2 = abase + min(m0 + 2u, M - 1u) * params.a_rs;
  let ar3 = abase + min(m0 + 3u, M - 1u) * params.a_rs;
  let bc0 = bbase + min(n0, N - 1u) * params.b_cs;
  let bc1 = bbase + min(n0 + 1u, N - 1u) * params.b_cs;
  let bc2 = bbase + min(n0 + 2u, N - 1u) * params.b_cs;
  let bc3 = bbase + min(n0 + 3u, N - 1u) * params.b_cs;
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = 0u; k < params.K; k++) {
    let ka = k * params.a_cs;
    let kb = k * params.b_rs;
    let bv = vec4f(b[bc0 + kb], b[bc1 + kb], b[bc2 + kb], b[bc3 + kb]);
    c0 += a[ar0 + ka] * bv;
    c1 += a[ar1 + ka] * bv;
    c2 += a[ar2 + ka] * bv;
    c3 += a[ar3 + ka] * bv;
  }
  store_row(bz, m0, n0, 1u, c0);
  store_row(bz, m0 + 1u, n0, 1u, c1);
  store_row(bz, m0 + 2u, n0, 1u, c2);
  store_row(bz, m0 + 3u, n0, 1u, c3);
}

@compute @workgroup_size(64)
fn reg_nn4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let lid = reg_layout(li);
  let bz = wid.z;
  let M = params.M;
  let m0 = (wid.y * lid.wy + lid.y) * 4u;
  let n4 = wid.x * lid.wx + lid.x;
  let N4 = params.N / 4u;
  let lda4 = params.a_rs / 4u;
  let ldb4 = params.b_rs / 4u;
  let abase = (params.a_off + bz * params.a_bs) / 4u;
  let ar0 = abase + min(m0, M - 1u) * lda4;
  let ar1 = abase + min(m0 + 1u, M - 1u) * lda4;
  let ar2 = abase + min(m0 + 2u, M - 1u) * lda4;
  let ar3 = abase + min(m0 + 3u, M - 1u) * lda4;
  let bcol = (params.b_off + bz * params.b_bs) / 4u + min(n4, N4 - 1u);
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  let K4 = params.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let bi = bcol + k4 * 4u * ldb4;
    let b0 = b4[bi];
    let b1 = b4[bi + ldb4];
    let b2 = b4[bi + 2u * ldb4];
    let b3 = b4[bi + 3u * ldb4];
    var t = a4[ar0 + k4];
    c0 += t.x * b0 + t.y * b1 + t.z * b2 + t.w * b3;
    t = a4[ar1 + k4];
    c1 += t.x * b0 + t.y * b1 + t.z * b2 + t.w * b3;
    t = a4[ar2 + k4];
    c2 += t.x * b0 + t.y * b1 + t.z * b2 + t.w * b3;
    t = a4[ar3 + k4];
    c3 += t.x * b0 + t.y * b1 + t.z * b2 + t.w * b3;
  }
  if (n4 >= N4) { return; }
  if (m0 < M) { store4(bz, m0, n4, c0); }
  if (m0 + 1u < M) { store4(bz, m0 + 1u, n4, c1); }
  if (m0 + 2u < M) { store4(bz, m0 + 2u, n4, c2); }
  if (m0 + 3u < M) { store4(bz, m0 + 3u, n4, c3); }
}

@compute @workgroup_size(64)
fn reg_nt4(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let lid = reg_layout(li);
  let bz = wid.z;
  let M = params.M;
  let N = params.N;
  let m0 = (wid.y * lid.wy + lid.y) * 4u;
  let n = wid.x * lid.wx + lid.x;
  let lda4 = params.a_rs / 4u;
  let abase = (params.a_off + bz * params.a_bs) / 4u;
  let ar0 = abase + min(m0, M - 1u) * lda4;
  let ar1 = abase + min(m0 + 1u, M - 1u) * lda4;
  let ar2 = abase + min(m0 + 2u, M - 1u) * lda4;
  let ar3 = abase + min(m0 + 3u, M - 1u) * lda4;
  let brow = (params.b_off + bz * params.b_bs + min(n, N - 1u) * params.b_cs) / 4u;
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  let K4 = params.K / 4u;
  for (var k4 = 0u; k4 < K4; k4++) {
    let w = b4[brow + k4];
    c0 += a4[ar0 + k4] * w;
    c1 += a4[ar1 + k4] * w;
    c2 += a4[ar2 + k4] * w;
    c3 += a4[ar3 + k4] * w;
  }
  if (n >= N) { return; }
  if (m0 < M) { store1(bz, m0, n, hsum(c0)); }
  if (m0 + 1u < M) { store1(bz, m0 + 1u, n, hsum(c1)); }
  if (m0 + 2u < M) { store1(bz, m0 + 2u, n, hsum(c2)); }
  if (m0 + 3u < M) { store1(bz, m0 + 3u, n, hsum(c3)); }
}

const TS = 64u;  // tile edge (rows of A, columns of B)
const TK = 8u;   // tile depth

// [k][m] and [k][n]. Invocation (x, y) owns rows y + 16i and columns x + 16j, so neighbouring
// invocations read neighbouring words (no bank conflicts) and store neighbouring columns.
var<workgroup> tile_a: array<f32, 512>;
var<workgroup> tile_b: array<f32, 512>;

@compute @workgroup_size(16, 16)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let bz = wid.z;
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let mt = wid.y * TS;
  let nt = wid.x * TS;
  let abase = params.a_off + bz * params.a_bs;
  let bbase = params.b_off + bz * params.b_bs;
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var j = 0u; j < 2u; j++) {
      let e = li + j * 256u;
      // Neighbouring invocations walk whichever axis is contiguous in memory (uniform branches), so
      // the tile loads coalesce for plain and transposed operands alike.
      var ak = e % TK;
      var am = e / TK;
      if (params.a_cs != 1u) {
        am = e % TS;
        ak = e / TS;
      }
      var av = 0.0;
      if (mt + am < M && k0 + ak < K) { av = a[abase + (mt + am) * params.a_rs + (k0 + ak) * params.a_cs]; }
      tile_a[ak * TS + am] = av;
      var bn = e % TS;
      var bk = e / TS;
      if (params.b_cs != 1u) {
        bk = e % TK;
        bn = e / TK;
      }
      var bv = 0.0;
      if (nt + bn < N && k0 + bk < K) { bv = b[bbase + (k0 + bk) * params.b_rs + (nt + bn) * params.b_cs]; }
      tile_b[bk * TS + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let ai = kk * TS + lid.y;
      let bi = kk * TS + lid.x;
      let bv = vec4f(tile_b[bi], tile_b[bi + 16u], tile_b[bi + 32u], tile_b[bi + 48u]);
      c0 += tile_a[ai] * bv;
      c1 += tile_a[ai + 16u] * bv;
      c2 += tile_a[ai + 32u] * bv;
      c3 += tile_a[ai + 48u] * bv;
    }
    workgroupBarrier();
  }
  let m0 = mt + lid.y;
  let n0 = nt + lid.x;
  store_row(bz, m0, n0, 16u, c0);
  store_row(bz, m0 + 16u, n0, 16u, c1);
  store_row(bz, m0 + 32u, n0, 16u, c2);
  store_row(bz, m0 + 48u, n0, 16u, c3);
}

// ---------------------------------------------------------------- gemv, vecmat (real GPUs, M <= 4 per row block)
// Workgroup y is a block of 4 rows of A (rows past M are clamped loads, never stored).

const GEMV_LANES = 32u;  // invocations per column of C in gemv
const GEMV_COLS = 8u;    // columns of C per gemv workgroup (256 invocations)
const VECMAT_SLICES = 8u;  // slices of K per vecmat workgroup (32 x 8 invocations)

// One vec4 of partial sums per invocation: gemv's rows 0..3 of one column, vecmat's 4 columns of one row.
var<workgroup> partial: array<vec4f, 256>;

// Row block: the element offset of each of A's 4 rows m0..m0+3 (clamped to M - 1). gemv divides them by
// 4 for vec4 indices: its plan has A's offset and strides in whole vec4s (a single row needs no stride).
fn a_rows(bz: u32, m0: u32) -> vec4u {
  let base = params.a_off + bz * params.a_bs;
  let last = params.M - 1u;
  return base + vec4u(min(m0, last), min(m0 + 1u, last), min(m0 + 2u, last), min(m0 + 3u, last)) * params.a_rs;
}

@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let bz = wid.z;
  let N = params.N;
  let lane = li % GEMV_LANES;
  let n = wid.x * GEMV_COLS + li / GEMV_LANES;
  let m0 = wid.y * 4u;
  let ar = a_rows(bz, m0) / 4u;
  let brow = (params.b_off + bz * params.b_bs + min(n, N - 1u) * params.b_cs) / 4u;
  let K4 = params.K / 4u;
  var s = vec4f(0.0);  // s[r]: row m0 + r
  for (var k4 = lane; k4 < K4; k4 += GEMV_LANES) {
    let w = b4[brow + k4];
    s += vec4f(dot(a4[ar.x + k4], w), dot(a4[ar.y + k4], w), dot(a4[ar.z + k4], w), dot(a4[ar.w + k4], w));
  }
  partial[li] = s;
  workgroupBarrier();
  for (var h = GEMV_LANES / 2u; h > 0u; h >>= 1u) {
    if (lane < h) { partial[li] += partial[li + h]; }
    workgroupBarrier();
  }
  if (lane != 0u || n >= N) { return; }
  let t = partial[li];
  for (var r = 0u; r < 4u; r++) {
    if (m0 + r < params.M) { store1(bz, m0 + r, n, t[r]); }
  }
}

@compute @workgroup_size(32, 8)
fn vecmat(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let bz = wid.z;
  let M = params.M;
  let K = params.K;
  let N4 = params.N / 4u;
  let n4 = wid.x * 32u + lid.x;
  let m0 = wid.y * 4u;
  let ar = a_rows(bz, m0);
  let bcol = (params.b_off + bz * params.b_bs) / 4u + min(n4, N4 - 1u);
  let ldb4 = params.b_rs / 4u;
  // Slice y: rows k0..k1 of B; neighbouring invocations read neighbouring vec4s of a row.
  let per = (K + VECMAT_SLICES - 1u) / VECMAT_SLICES;
  let k0 = lid.y * per;
  let k1 = min(K, k0 + per);
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = k0; k < k1; k++) {
    let w = b4[bcol + k * ldb4];
    let ka = k * params.a_cs;
    c0 += a[ar.x + ka] * w;
    c1 += a[ar.y + ka] * w;
    c2 += a[ar.z + ka] * w;
    c3 += a[ar.w + ka] * w;
  }
  // Sum the slices one row at a time: the 4 rows at once would take all 16 KB of workgroup memory an
  // adapter must offer.
  for (var r = 0u; r < 4u; r++) {
    var v = c0;
    if (r == 1u) { v = c1; } else if (r == 2u) { v = c2; } else if (r == 3u) { v = c3; }
    partial[li] = v;
    workgroupBarrier();
    if (lid.y == 0u && n4 < N4 && m0 + r < M) {
      var t = partial[lid.x];
      for (var y = 1u; y < VECMAT_SLICES; y++) { t += partial[y * 32u + lid.x]; }
      store4(bz, m0 + r, n4, t);
    }
    workgroupBarrier();
  }
}
