// Softmax over the last axis of x viewed as (rows, len). Max-subtracted, so logits of 1e4 stay finite.
// Long rows: one workgroup per row (grid folded into y past 65535 rows). Short rows (the *_small
// entries): one invocation per row, since a workgroup's barriers would cost more than the row.
//   softmax          y = exp(x - max) / sum(exp(x - max))
//   log_softmax      y = (x - max) - log(sum(exp(x - max)))
//   softmax_backward dx = y * (dy - sum(dy * y))     (y: the softmax output, dy: upstream gradient)

struct Params {
  rows: u32,
  len: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> sy: array<f32>;   // backward: softmax output
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

const WG = 64u;
override LOG: bool = false;

var<workgroup> red: array<f32, WG>;

// Every invocation of the workgroup must call these (they hold barriers).
fn workgroup_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return r;
}

fn workgroup_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

struct Stats { mx: f32, sum: f32, }

fn row_stats(base: u32, lid: u32) -> Stats {
  let len = params.len;
  var m = x[base]; // element 0 repeated is neutral for max
  for (var i = lid; i < len; i += WG) { m = max(m, x[base + i]); }
  let mx = workgroup_max(m, lid);
  var s = 0.0;
  for (var i = lid; i < len; i += WG) { s += exp(x[base + i] - mx); }
  return Stats(mx, workgroup_sum(s, lid));
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= params.rows) { return; }
  let base = row * params.len;
  let st = row_stats(base, lid);
  let inv = 1.0 / st.sum;
  for (var i = lid; i < params.len; i += WG) { y[base + i] = exp(x[base + i] - st.mx) * inv; }
}

@compute @workgroup_size(WG)
fn log_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= params.rows) { return; }
  let base = row * params.len;
  let st = row_stats(base, lid);
  // (x - max) - log(sum), never x - (max + log(sum)): with logits of 1e4 the fused shift would round
  // away log(sum) and the top class would read exactly 0.
  let lse = log(st.sum);
  for (var i = lid; i < params.len; i += WG) { y[base + i] = (x[base + i] - st.mx) - lse; }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wid, nwg);
  if (row >= params.rows) { return; }
  let base = row * params.len;
  var s = 0.0;
  for (var i = lid; i < params.len; i += WG) { s += dy[base + i] * sy[base + i]; }
  let total = workgroup_sum(s, lid);
  for (var i = lid; i < params.len; i += WG) { dx[base + i] = sy[base + i] * (dy[base + i] - total); }
}

@compute @workgroup_size(WG)
fn softmax_small(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let base = row * params.len;
  let end = base + params.len;
  var mx = x[base];
  for (var i = base + 1u; i < end; i++) { mx = max(mx, x[i]); }
  var sum = 0.0;
  for (var i = base; i < end; i++) { sum += exp(x[i] - mx); }
  if (LOG) {
    let lse = log(sum);
    for (var i = base; i < end; i++) { y[i] = (x[i] - mx) - lse; }
  } else {
    let inv = 1.0 / sum;
    for (var i = base; i < end; i++) { y[i] = exp(x[i] - mx) * inv; }
  }
}

@compute @workgroup_size(WG)
fn softmax_backward_small(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= params.rows) { return; }
  let base = row * params.len;
  let end = base + params.len;
  var total = 0.0;
  for (var i = base; i < end; i++) { total += dy[i] * sy[i]; }
  for (var i = base; i < end; i++) { dx[i] = sy[i] * (dy[i] - total); }
}
