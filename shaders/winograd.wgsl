// Winograd F(2x2, 3x3) for stride-1, undilated 3x3 convolutions (Lavin & Gray 2016): each 2x2 output
// tile is A^T [ (G g G^T) . (B^T d B) ] A, with d the 4x4 input patch under it and g a 3x3 filter.
// 16 multiplies per tile and channel pair instead of 36; the 16 elementwise products over input
// channels are 16 independent GEMMs, which src/kernels/winograd.ts runs as one grouped 1x1 conv on the
// GEMM kernels (group xi = transform position 0..15).
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// Layouts (tile t = (n, ty, tx) with tx fastest; large inputs go in chunks of T tiles from t0, padded
// to T4, a multiple of 4):
//   weights: w (O, C, 3, 3) -> u (16 * Out, In) with u[xi * Out + co, ci] = (G g G^T)[xi], where
//            MODE 0 (forward): Out = O, In = C, g = w[co, ci];
//            MODE 1 (backward to the input, a conv of dy with the flipped, transposed kernel):
//                              Out = C, In = O, g = w[ci, co] rotated by 180 degrees.
//   input:   x (N, CI, H, W) -> v (16 * CI, T) with v[xi * CI + c, t] = (B^T d B)[xi], d = x rows
//            2ty - pad .. +3, columns 2tx - pad .. +3 (zero outside x, and for tiles t past the last).
//   output:  m (16 * CO, T) -> y (N, CO, Ho, Wo) = A^T m A, then the epilogue:
//            + bias[co] (HAS_BIAS), * scale[co] + shift[co] (AFFINE: inference batch-norm),
//            + res[n, co, oh, ow] (RESIDUAL), * [mask[n, co, oh, ow] > 0] (MASK: a ReLU's backward),
//            max(., 0) (ACT == 1). Pixels past Ho, Wo are dropped.

struct Params {
  N: u32, CI: u32, CO: u32,     // images, channels in / out of the transformed conv
  H: u32, W: u32,               // input plane
  Ho: u32, Wo: u32,             // output plane
  TY: u32, TX: u32,             // tiles per column / row of one image
  T: u32, T4: u32,              // tiles of this chunk, and that padded to a multiple of 4 (the GEMM's row length)
  t0: u32,                      // the chunk's first tile (large inputs run in chunks of tiles)
  TN: u32,                      // tiles in all (N * TY * TX)
  pad: u32,
  total: u32,                   // invocations of the entry point
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;   // (CO); bound to m when HAS_BIAS == 0
@group(0) @binding(8) var<storage, read> scale: array<f32>;  // (CO); bound to m when AFFINE == 0
@group(0) @binding(9) var<storage, read> shift: array<f32>;  // (CO)
@group(0) @binding(10) var<storage, read> res: array<f32>;   // like y; bound to m when RESIDUAL == 0
@group(0) @binding(11) var<storage, read> mask: array<f32>;  // like y; bound to m when MASK == 0
// y, res and mask as vec4s (transform_output4_rows)
@group(0) @binding(12) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read> res4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> mask4: array<vec4<f32>>;
// x as vec4s (transform_input4_rows)
@group(0) @binding(15) var<storage, read> x4: array<vec4<f32>>;

override WG: u32 = 64;
override MODE: u32 = 0;
override HAS_BIAS: u32 = 0;
override AFFINE: u32 = 0;
override RESIDUAL: u32 = 0;
override MASK: u32 = 0;
override ACT: u32 = 0;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// The image and tile coordinates (n, ty, tx) of chunk tile t.
fn tile_coords(t: u32) -> vec3u {
  let tt = params.t0 + t;
  return vec3u(tt / (params.TX * params.TY), (tt / params.TX) % params.TY, tt % params.TX);
}

// Whether slot t of the chunk's T4 (padded to a multiple of 4) holds a real tile; the input transforms
// write zeros for the others, so the GEMM's padding rows add nothing.
fn real_tile(t: u32) -> bool {
  return t < params.T && params.t0 + t < params.TN;
}

// One invocation per (out, in) filter: u = G g G^T.
@compute @workgroup_size(WG)
fn transform_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let ci = i % params.CI;
  let co = i / params.CI;
  // g[r][c] of the transformed conv's filter from w (O, C, 3, 3)
  var g: array<f32, 9>;
  if (MODE == 0u) {
    let base = (co * params.CI + ci) * 9u;
    for (var k = 0u; k < 9u; k++) { g[k] = w[base + k]; }
  } else {
    let base = (ci * params.CO + co) * 9u;
    for (var k = 0u; k < 9u; k++) { g[k] = w[base + 8u - k]; }
  }
  // t = G g (4x3)
  var t: array<f32, 12>;
  for (var c = 0u; c < 3u; c++) {
    let a = g[c]; let b = g[3u + c]; let d = g[6u + c];
    t[c] = a;
    t[3u + c] = 0.5 * (a + b + d);
    t[6u + c] = 0.5 * (a - b + d);
    t[9u + c] = d;
  }
  // u = t G^T (4x4)
  let stride = params.CO * params.CI;
  var o = co * params.CI + ci;
  for (var r = 0u; r < 4u; r++) {
    let a = t[3u * r]; let b = t[3u * r + 1u]; let d = t[3u * r + 2u];
    u[o] = a; o += stride;
    u[o] = 0.5 * (a + b + d); o += stride;
    u[o] = 0.5 * (a - b + d); o += stride;
    u[o] = d; o += stride;
  }
}

// One invocation per (channel, tile): v = B^T d B.
@compute @workgroup_size(WG)
fn transform_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T4;
  let c = i / params.T4;
  var d: array<f32, 16>;
  if (real_tile(t)) {
    let tile = tile_coords(t);
    let n = tile.x; let ty = tile.y; let tx = tile.z;
    let h0 = i32(2u * ty) - i32(params.pad);
    let w0 = i32(2u * tx) - i32(params.pad);
    let plane = (n * params.CI + c) * params.H * params.W;
    for (var r = 0; r < 4; r++) {
      let ih = h0 + r;
      let rowOk = ih >= 0 && ih < i32(params.H);
      for (var q = 0; q < 4; q++) {
        let iw = w0 + q;
        let ok = rowOk && iw >= 0 && iw < i32(params.W);
        d[4 * r + q] = select(0.0, x[plane + u32(select(0, ih * i32(params.W) + iw, ok))], ok);
      }
    }
  }
  // rows: B^T d
  var e: array<f32, 16>;
  for (var q = 0u; q < 4u; q++) {
    e[q] = d[q] - d[8u + q];
    e[4u + q] = d[4u + q] + d[8u + q];
    e[8u + q] = d[8u + q] - d[4u + q];
    e[12u + q] = d[4u + q] - d[12u + q];
  }
  // columns: (B^T d) B, stored at v[(xi * CI + c) * T4 + t]
  let stride = params.CI * params.T4;
  var o = c * params.T4 + t;
  for (var r = 0u; r < 4u; r++) {
    let a = e[4u * r]; let b = e[4u * r + 1u]; let f = e[4u * r + 2u]; let h = e[4u * r + 3u];
    v[o] = a - f; o += stride;
    v[o] = b + f; o += stride;
    v[o] = f - b; o += stride;
    v[o] = b - h; o += stride;
  }
}

// The epilogue's order, one definition for the scalar and the vec4 stores: + bias, * scale + shift,
// + the residual `added`, * [gate > 0], ReLU. `added` and `gate` are read only where RESIDUAL / MASK are
// set. (Lavapipe computes vectors one component at a time, so the scalar store pays for .x only.)
fn apply_epilogue(val: vec4f, co: u32, added: vec4f, gate: vec4f) -> vec4f {
  var r = val;
  if (HAS_BIAS == 1u) { r += bias[co]; }
  if (AFFINE == 1u) { r = r * scale[co] + shift[co]; }
  if (RESIDUAL == 1u) { r += added; }
  if (MASK == 1u) { r = select(vec4f(0.0), r, gate > vec4f(0.0)); }
  if (ACT == 1u) { r = max(r, vec4f(0.0)); }
  return r;
}

fn epilogue(val: f32, co: u32, yi: u32) -> f32 {
  var added = 0.0;
  var gate = 0.0;
  if (RESIDUAL == 1u) { added = res[yi]; }
  if (MASK == 1u) { gate = mask[yi]; }
  return apply_epilogue(vec4f(val), co, vec4f(added), vec4f(gate)).x;
}

// One invocation per (out channel, tile): y = A^T m A.
@compute @workgroup_size(WG)
fn transform_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T;
  let co = i / params.T;
  let stride = params.CO * params.T4;
  var o = co * params.T4 + t;
  // rows of A^T m, column by column
  var s: array<f32, 8>;
  for (var q = 0u; q < 4u; q++) {
    let m0 = m[o]; let m1 = m[o + 4u * stride]; let m2 = m[o + 8u * stride]; let m3 = m[o + 12u * stride];
    s[q] = m0 + m1 + m2;
    s[4u + q] = m1 - m2 - m3;
    o += stride;
  }
  let tile = tile_coords(t);
  let n = tile.x; let ty = tile.y; let tx = tile.z;
  let oh = 2u * ty;
  let ow = 2u * tx;
  let base = ((n * params.CO + co) * params.Ho + oh) * params.Wo + ow;
  let right = ow + 1u < params.Wo;
  let below = oh + 1u < params.Ho;
  y[base] = epilogue(s[0] + s[1] + s[2], co, base);
  if (right) { y[base + 1u] = epilogue(s[1] - s[2] - s[3], co, base + 1u); }
  if (below) {
    let b2 = base + params.Wo;
    y[b2] = epilogue(s[4] + s[5] + s[6], co, b2);
    if (right) { y[b2 + 1u] = epilogue(s[5] - s[6] - s[7], co, b2 + 1u); }
  }
}

// ---------------------------------------------------------------- F(4x4, 3x3)
// 4x4 output tiles from 6x6 patches: 36 multiplies per tile and channel pair instead of 144, and the
// transforms move 36 values per 16 outputs instead of 16 per 4. Its matrices (Lavin & Gray 2016):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Layouts as above with 36 transform positions (xi = 6 r + c) and tile t = (n, ty, tx) of 4x4 outputs.

fn bt6(d0: f32, d1: f32, d2: f32, d3: f32, d4: f32, d5: f32) -> array<f32, 6> {
  return array<f32, 6>(4.0 * d0 - 5.0 * d2 + d4, d3 + d4 - 4.0 * (d1 + d2), 4.0 * (d1 - d2) + d4 - d3,
                       2.0 * (d3 - d1) + d4 - d2, 2.0 * (d1 - d3) + d4 - d2, 4.0 * d1 - 5.0 * d3 + d5);
}

fn g6(g0: f32, g1: f32, g2: f32) -> array<f32, 6> {
  return array<f32, 6>(0.25 * g0, -(g0 + g1 + g2) / 6.0, -(g0 - g1 + g2) / 6.0,
                       g0 / 24.0 + g1 / 12.0 + g2 / 6.0, g0 / 24.0 - g1 / 12.0 + g2 / 6.0, g2);
}

fn at4(m0: f32, m1: f32, m2: f32, m3: f32, m4: f32, m5: f32) -> vec4f {
  return vec4f(m0 + m1 + m2 + m3 + m4, m1 - m2 + 2.0 * (m3 - m4), m1 + m2 + 4.0 * (m3 + m4), m1 - m2 + 8.0 * (m3 - m4) + m5);
}

// One invocation per (out, in) filter: u = G g G^T (6x6).
@compute @workgroup_size(WG)
fn transform_weights4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let ci = i % params.CI;
  let co = i / params.CI;
  var g: array<f32, 9>;
  if (MODE == 0u) {
    let base = (co * params.CI + ci) * 9u;
    for (var k = 0u; k < 9u; k++) { g[k] = w[base + k]; }
  } else {
    let base = (ci * params.CO + co) * 9u;
    for (var k = 0u; k < 9u; k++) { g[k] = w[base + 8u - k]; }
  }
  // columns of G g, then rows of (G g) G^T
  let c0 = g6(g[0], g[3], g[6]); let c1 = g6(g[1], g[4], g[7]); let c2 = g6(g[2], g[5], g[8]);
  let stride = params.CO * params.CI;
  var o = co * params.CI + ci;
  for (var r = 0u; r < 6u; r++) {
    let row = g6(c0[r], c1[r], c2[r]);
    for (var c = 0u; c < 6u; c++) { u[o] = row[c]; o += stride; }
  }
}

// v = B^T d B of channel c's 6x6 patch d for chunk tile t (F(4x4)), stored at its 36 positions: columns
// of B^T d, then rows of (B^T d) B.
fn store_input4(d: ptr<function, array<f32, 36>>, c: u32, t: u32) {
  var e: array<f32, 36>;
  for (var q = 0u; q < 6u; q++) {
    let col = bt6((*d)[q], (*d)[6u + q], (*d)[12u + q], (*d)[18u + q], (*d)[24u + q], (*d)[30u + q]);
    for (var r = 0u; r < 6u; r++) { e[6u * r + q] = col[r]; }
  }
  let stride = params.CI * params.T4;
  var o = c * params.T4 + t;
  for (var r = 0u; r < 6u; r++) {
    let row = bt6(e[6u * r], e[6u * r + 1u], e[6u * r + 2u], e[6u * r + 3u], e[6u * r + 4u], e[6u * r + 5u]);
    for (var q = 0u; q < 6u; q++) { v[o] = row[q]; o += stride; }
  }
}

// One invocation per (channel, tile): v = B^T d B over the 6x6 patch.
@compute @workgroup_size(WG)
fn transform_input4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T4;
  let c = i / params.T4;
  var d: array<f32, 36>;
  if (real_tile(t)) {
    let tile = tile_coords(t);
    let n = tile.x; let ty = tile.y; let tx = tile.z;
    let h0 = i32(4u * ty) - i32(params.pad);
    let w0 = i32(4u * tx) - i32(params.pad);
    let plane = (n * params.CI + c) * params.H * params.W;
    for (var r = 0; r < 6; r++) {
      let ih = h0 + r;
      let rowOk = ih >= 0 && ih < i32(params.H);
      for (var q = 0; q < 6; q++) {
        let iw = w0 + q;
        let ok = rowOk && iw >= 0 && iw < i32(params.W);
        d[6 * r + q] = select(0.0, x[plane + u32(select(0, ih * i32(params.W) + iw, ok))], ok);
      }
    }
  }
  store_input4(&d, c, t);
}

// transform_input4 at padding 1 on planes whose width is whole vec4s: each patch row is pixels
// 4 tx - 1 .. 4 tx + 4, one aligned vec4 and a pixel either side, 3 loads where transform_input4 makes 6.
@compute @workgroup_size(WG)
fn transform_input4_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T4;
  let c = i / params.T4;
  var d: array<f32, 36>;
  if (real_tile(t)) {
    let tile = tile_coords(t);
    let n = tile.x; let ty = tile.y; let tx = tile.z;
    let H = i32(params.H);
    let h0 = i32(4u * ty) - 1;
    let has_l = tx > 0u;
    let has_r = 4u * tx + 4u < params.W;
    let plane = (n * params.CI + c) * params.H * params.W;
    for (var r = 0; r < 6; r++) {
      let ih = h0 + r;
      let ok = ih >= 0 && ih < H;
      let a = plane + u32(select(0, ih, ok)) * params.W + 4u * tx;
      let mid = select(vec4f(0.0), x4[a / 4u], ok);
      d[6 * r] = select(0.0, x[select(a, a - 1u, has_l)], ok && has_l);
      d[6 * r + 1] = mid.x; d[6 * r + 2] = mid.y; d[6 * r + 3] = mid.z; d[6 * r + 4] = mid.w;
      d[6 * r + 5] = select(0.0, x[select(a, a + 4u, has_r)], ok && has_r);
    }
  }
  store_input4(&d, c, t);
}

// Columns of A^T m for output channel co of chunk tile t: s[q] = rows 0..3 of A^T applied to column q.
fn output_columns4(co: u32, t: u32) -> array<vec4f, 6> {
  let stride = params.CO * params.T4;
  let o = co * params.T4 + t;
  var s: array<vec4f, 6>;
  for (var q = 0u; q < 6u; q++) {
    let b = o + q * stride;
    s[q] = at4(m[b], m[b + 6u * stride], m[b + 12u * stride], m[b + 18u * stride], m[b + 24u * stride], m[b + 30u * stride]);
  }
  return s;
}

// One invocation per (out channel, tile): y = A^T m A, 4x4 outputs.
@compute @workgroup_size(WG)
fn transform_output4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T;
  let co = i / params.T;
  let s = output_columns4(co, t);
  let tile = tile_coords(t);
  let n = tile.x; let ty = tile.y; let tx = tile.z;
  for (var r = 0u; r < 4u; r++) {
    let oh = 4u * ty + r;
    if (oh >= params.Ho) { break; }
    let row = at4(s[0][r], s[1][r], s[2][r], s[3][r], s[4][r], s[5][r]);
    let base = ((n * params.CO + co) * params.Ho + oh) * params.Wo + 4u * tx;
    for (var q = 0u; q < 4u; q++) {
      if (4u * tx + q < params.Wo) { y[base + q] = epilogue(row[q], co, base + q); }
    }
  }
}

fn epilogue4(val: vec4f, co: u32, yi4: u32) -> vec4f {
  var added = vec4f(0.0);
  var gate = vec4f(0.0);
  if (RESIDUAL == 1u) { added = res4[yi4]; }
  if (MASK == 1u) { gate = mask4[yi4]; }
  return apply_epilogue(val, co, added, gate);
}

// transform_output4 where Wo % 4 == 0: every tile row lies whole inside the plane, aligned, and is
// stored (with its epilogue) as one vec4.
@compute @workgroup_size(WG)
fn transform_output4_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.total) { return; }
  let t = i % params.T;
  let co = i / params.T;
  let s = output_columns4(co, t);
  let tile = tile_coords(t);
  let n = tile.x; let ty = tile.y; let tx = tile.z;
  for (var r = 0u; r < 4u; r++) {
    let oh = 4u * ty + r;
    if (oh >= params.Ho) { break; }
    let row = at4(s[0][r], s[1][r], s[2][r], s[3][r], s[4][r], s[5][r]);
    let yi4 = (((n * params.CO + co) * params.Ho + oh) * params.Wo + 4u * tx) / 4u;
    y4[yi4] = epilogue4(row, co, yi4);
  }
}
