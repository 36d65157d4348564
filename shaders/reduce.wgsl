// Reductions over the middle axis of x viewed as (outer, len, inner), plus argmax, dot and min-max
// normalisation. OP: one of the OP_* below (defined here only; src/kernels/reduce.ts reads them).
//   rows         inner == 1: one workgroup per (row, chunk of `chunk` elements), tree reduction in
//                workgroup memory. Writes partials out[row * nchunks + chunk]; a second pass reduces them.
//   cols         one invocation per (outer, chunk, inner) output, serial over its chunk; coalesced
//                across inner (e.g. max over channels of NCHW).
//   dot_rows     rows on a[i] * b[i] (outer = 1).
//   argmax_rows / argmax_cols   first maximum wins (PyTorch); out is i32.
//   minmax_apply (x - min) / (max - min + 1e-7) with the per-slice min and max from earlier passes;
//                a constant slice gives exact zeros.
// `scale` multiplies the final value (1/len for mean on the last pass).

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  chunk: u32,
  nchunks: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> idx: array<i32>;
@group(0) @binding(5) var<storage, read> lo: array<f32>;
@group(0) @binding(6) var<storage, read> hi: array<f32>;

const OP_SUM: u32 = 0u;
const OP_MAX: u32 = 1u;
const OP_MIN: u32 = 2u;

// A power of two (the tree reduction halves it); src/kernels/reduce.ts reads it for its grids.
const WG = 64u;
override OP: u32 = 0;

var<workgroup> red: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

fn combine(u: f32, v: f32) -> f32 {
  switch OP {
    case OP_SUM: { return u + v; }
    case OP_MAX: { return max(u, v); }
    default: { return min(u, v); }
  }
}

// Every invocation of the workgroup must call this (it holds barriers).
fn workgroup_reduce(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = combine(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}

struct Span { row: u32, start: u32, end: u32, valid: bool, }

// Workgroup -> (row, chunk) over a grid folded into y past 65535 workgroups.
fn row_span(wid: vec3u, nwg: vec3u) -> Span {
  let flat = wid.x + wid.y * nwg.x;
  let row = flat / params.nchunks;
  let ch = flat - row * params.nchunks;
  let start = row * params.len + ch * params.chunk;
  let end = row * params.len + min(params.len, (ch + 1u) * params.chunk);
  return Span(row, start, end, row < params.outer);
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let sp = row_span(wid, nwg);
  if (!sp.valid) { return; }
  // Repeating an element of the span is neutral for max and min, so it doubles as their identity.
  var acc = select(x[sp.start], 0.0, OP == OP_SUM);
  for (var i = sp.start + lid; i < sp.end; i += WG) { acc = combine(acc, x[i]); }
  let r = workgroup_reduce(acc, lid);
  if (lid == 0u) { out[wid.x + wid.y * nwg.x] = r * params.scale; }
}

@compute @workgroup_size(WG)
fn dot_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let sp = row_span(wid, nwg);
  if (!sp.valid) { return; }
  var acc = 0.0;
  for (var i = sp.start + lid; i < sp.end; i += WG) { acc += x[i] * b[i]; }
  let r = workgroup_reduce(acc, lid);
  if (lid == 0u) { out[wid.x + wid.y * nwg.x] = r * params.scale; }
}

@compute @workgroup_size(WG)
fn cols(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  let inner = params.inner;
  let per_outer = params.nchunks * inner;
  if (t >= params.outer * per_outer) { return; }
  let o = t / per_outer;
  let rem = t - o * per_outer;
  let ch = rem / inner;
  let i = rem - ch * inner;
  let r0 = ch * params.chunk;
  let r1 = min(params.len, r0 + params.chunk);
  var p = (o * params.len + r0) * inner + i;
  var acc = x[p];
  for (var r = r0 + 1u; r < r1; r++) {
    p += inner;
    acc = combine(acc, x[p]);
  }
  out[t] = acc * params.scale;
}

// Strict '>' while scanning forward keeps the first maximum; merges prefer the lower index on ties.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(WG)
fn argmax_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.outer) { return; }
  let base = row * params.len;
  var best = x[base];
  var best_i = 0u;
  for (var r = lid; r < params.len; r += WG) {
    let v = x[base + r];
    if (v > best) { best = v; best_i = r; }
  }
  red[lid] = best;
  red_i[lid] = best_i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(red[lid + s], red_i[lid + s], red[lid], red_i[lid])) {
      red[lid] = red[lid + s];
      red_i[lid] = red_i[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { idx[row] = i32(red_i[0]); }
}

@compute @workgroup_size(WG)
fn argmax_cols(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  let inner = params.inner;
  if (t >= params.outer * inner) { return; }
  let o = t / inner;
  let i = t - o * inner;
  var p = o * params.len * inner + i;
  var best = x[p];
  var best_i = 0u;
  for (var r = 1u; r < params.len; r++) {
    p += inner;
    let v = x[p];
    if (v > best) { best = v; best_i = r; }
  }
  idx[t] = i32(best_i);
}

@compute @workgroup_size(WG)
fn minmax_apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  let inner = params.inner;
  if (t >= params.outer * params.len * inner) { return; }
  let o = t / (params.len * inner);
  let s = o * inner + (t - (t / inner) * inner);
  let mn = lo[s];
  let mx = hi[s];
  // max == min would give 0 / 1e-7 = 0 anyway; the explicit test also covers infinite inputs.
  out[t] = select(0.0, (x[t] - mn) / (mx - mn + 1e-7), mx > mn);
}
