// 2-D pooling, forward and backward side by side: max (with argmax switches), average,
// adaptive average and global average. PyTorch semantics throughout.
//   x:  (N, C, H, W)   seen as P = N*C independent planes of H*W
//   y:  (N, C, Ho, Wo) one value per window
//   switches: u32 (N, C, Ho, Wo) = h*W + w of the window's argmax inside its input plane
//             (0xffffffff for a window that holds only padding, possible only with dilation)
// Forward: one invocation per output (max pooling: per output row). Max backward scatters each
// window's gradient to its argmax in phases: windows whose rows differ by at least
// qh = ceil(((kh-1)*dh + 1) / sh) (and columns by qw) cannot share an input pixel, so the windows with
// (oh % qh, ow % qw) fixed are one race-free dispatch (no atomics, deterministic; 4 dispatches for
// ResNet's 3x3/2, 1 for VGG's 2x2/2). That reads each window once instead of gathering every window
// that covers each pixel. Sums of a pixel's windows follow the phase order, not PyTorch's ascending
// window order (the same up to rounding).
// Average backward gathers.

struct Params {
  planes: u32,
  h: u32, w: u32,
  ho: u32, wo: u32,
  kh: u32, kw: u32,
  sh: u32, sw: u32,
  ph: u32, pw: u32,
  dh: u32, dw: u32,
  count_include_pad: u32,
  // max_backward_phase: the phase's first window (r0, c0), the phase strides (qh, qw) and its size
  r0: u32, c0: u32, qh: u32, qw: u32, pho: u32, pwo: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> switches: array<u32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> switches_in: array<u32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;

override WG: u32 = 256;

const NO_SWITCH: u32 = 0xffffffffu;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Bit test rather than v != v: WGSL lets compilers assume NaN-free arithmetic, not NaN-free bits.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// WGSL constant expressions cannot hold infinities; reading the bits through a var is not one.
fn neg_inf() -> f32 {
  var bits = 0xff800000u;
  return bitcast<f32>(bits);
}

// ---------------------------------------------------------------- max pool

// One invocation per output row (a plane's row of Wo windows): the row's window rows and the plane's base
// are worked out once (integer division is scalarised per lane on lavapipe), the windows walk along the
// row with counters, and the running maximum is kept with selects rather than branches. 1.15-1.35x
// against one invocation per output with branches on ResNet's 3x3/2 and VGG's 2x2/2 (docs/adapter.md).
@compute @workgroup_size(WG)
fn max_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flat_index(gid, nwg);
  if (r >= params.planes * params.ho) { return; }
  let oh = r % params.ho;
  let base = (r / params.ho) * params.h * params.w;
  let dh = i32(params.dh);
  let dw = i32(params.dw);
  var h0 = i32(oh * params.sh) - i32(params.ph);
  let h1 = min(h0 + (i32(params.kh) - 1) * dh + 1, i32(params.h));
  // Padding taps hold -inf in PyTorch, so they never win: start at the first in-bounds tap.
  if (h0 < 0) { h0 += ((-h0 + dh - 1) / dh) * dh; }
  let span = (i32(params.kw) - 1) * dw + 1;
  var out = r * params.wo;
  var wl = -i32(params.pw);  // the window's first column, padding included
  for (var ow = 0u; ow < params.wo; ow++) {
    var w0 = wl;
    let w1 = min(wl + span, i32(params.w));
    if (w0 < 0) { w0 += ((-w0 + dw - 1) / dw) * dw; }
    // PyTorch starts from -inf with the first tap's index, then takes strictly greater values (the first
    // maximum wins ties) or any NaN (so NaN propagates, and the last NaN's index is kept).
    var best = neg_inf();
    var arg = u32(h0) * params.w + u32(w0);
    var seen_nan = false;
    for (var hh = h0; hh < h1; hh += dh) {
      for (var ww = w0; ww < w1; ww += dw) {
        let idx = u32(hh) * params.w + u32(ww);
        let v = x[base + idx];
        let nan = is_nan(v);
        let take = nan || (!seen_nan && v > best);  // selects, not branches: no masked control flow
        best = select(best, v, take);
        arg = select(arg, idx, take);
        seen_nan = seen_nan || nan;
      }
    }
    // With dilation a window can hold only padding: -inf, and a switch that matches no pixel.
    if (h0 >= h1 || w0 >= w1) { arg = NO_SWITCH; }
    y[out] = best;
    switches[out] = arg;
    out += 1u;
    wl += i32(params.sw);
  }
}

// dy, switches_in: (N, C, Ho, Wo) -> dx += the windows of one phase routed to their argmax; dx starts at 0.
@compute @workgroup_size(WG)
fn max_backward_phase(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.pho * params.pwo) { return; }
  let ow = params.c0 + (i % params.pwo) * params.qw;
  let oh = params.r0 + ((i / params.pwo) % params.pho) * params.qh;
  let plane = i / (params.pwo * params.pho);
  let o = (plane * params.ho + oh) * params.wo + ow;
  let s = switches_in[o];
  if (s == NO_SWITCH) { return; }
  let t = plane * params.h * params.w + s;
  dx[t] = dx[t] + dy[o];
}

// ---------------------------------------------------------------- average pool

// PyTorch's divisor: the window clipped to input+padding (ceil_mode windows can overhang it), or
// only its in-bounds part when count_include_pad is off.
fn avg_divisor(oh: u32, ow: u32) -> f32 {
  let hs = i32(oh * params.sh) - i32(params.ph);
  let ws = i32(ow * params.sw) - i32(params.pw);
  let he = min(hs + i32(params.kh), i32(params.h + params.ph));
  let we = min(ws + i32(params.kw), i32(params.w + params.pw));
  if (params.count_include_pad != 0u) { return f32((he - hs) * (we - ws)); }
  return f32((min(he, i32(params.h)) - max(hs, 0)) * (min(we, i32(params.w)) - max(ws, 0)));
}

@compute @workgroup_size(WG)
fn avg_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.ho * params.wo) { return; }
  let ow = i % params.wo;
  let oh = (i / params.wo) % params.ho;
  let base = (i / (params.wo * params.ho)) * params.h * params.w;
  let hs = i32(oh * params.sh) - i32(params.ph);
  let ws = i32(ow * params.sw) - i32(params.pw);
  let h0 = max(hs, 0);
  let w0 = max(ws, 0);
  let h1 = min(hs + i32(params.kh), i32(params.h));
  let w1 = min(ws + i32(params.kw), i32(params.w));
  if (h0 >= h1 || w0 >= w1) {
    y[i] = 0.0;
    return;
  }
  var sum = 0.0;
  for (var hh = h0; hh < h1; hh++) {
    for (var ww = w0; ww < w1; ww++) {
      sum += x[base + u32(hh) * params.w + u32(ww)];
    }
  }
  y[i] = sum / avg_divisor(oh, ow);
}

// dy: (N, C, Ho, Wo) -> dx: (N, C, H, W)
@compute @workgroup_size(WG)
fn avg_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.h * params.w) { return; }
  let xw = i32(i % params.w);
  let xh = i32((i / params.w) % params.h);
  let obase = (i / (params.h * params.w)) * params.ho * params.wo;
  let sh = i32(params.sh);
  let sw = i32(params.sw);
  var acc = 0.0;
  for (var ki = i32(params.kh) - 1; ki >= 0; ki--) {
    let th = xh + i32(params.ph) - ki;
    if (th < 0 || th % sh != 0) { continue; }
    let oh = u32(th / sh);
    if (oh >= params.ho) { break; }
    for (var kj = i32(params.kw) - 1; kj >= 0; kj--) {
      let tw = xw + i32(params.pw) - kj;
      if (tw < 0 || tw % sw != 0) { continue; }
      let ow = u32(tw / sw);
      if (ow >= params.wo) { break; }
      acc += dy[obase + oh * params.wo + ow] / avg_divisor(oh, ow);
    }
  }
  dx[i] = acc;
}

// ---------------------------------------------------------------- adaptive average pool

// Output row o averages input rows [floor(o*H/Ho), ceil((o+1)*H/Ho)); windows may overlap.
@compute @workgroup_size(WG)
fn adaptive_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.ho * params.wo) { return; }
  let ow = i % params.wo;
  let oh = (i / params.wo) % params.ho;
  let base = (i / (params.wo * params.ho)) * params.h * params.w;
  let h0 = (oh * params.h) / params.ho;
  let h1 = ((oh + 1u) * params.h + params.ho - 1u) / params.ho;
  let w0 = (ow * params.w) / params.wo;
  let w1 = ((ow + 1u) * params.w + params.wo - 1u) / params.wo;
  var sum = 0.0;
  for (var hh = h0; hh < h1; hh++) {
    for (var ww = w0; ww < w1; ww++) {
      sum += x[base + hh * params.w + ww];
    }
  }
  y[i] = sum / f32(h1 - h0) / f32(w1 - w0);
}

// dy: (N, C, Ho, Wo) -> dx: (N, C, H, W). Input row h lies in windows floor(h*Ho/H) .. ceil((h+1)*Ho/H)-1.
@compute @workgroup_size(WG)
fn adaptive_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.h * params.w) { return; }
  let xw = i % params.w;
  let xh = (i / params.w) % params.h;
  let obase = (i / (params.h * params.w)) * params.ho * params.wo;
  let oh0 = (xh * params.ho) / params.h;
  let oh1 = min(((xh + 1u) * params.ho + params.h - 1u) / params.h, params.ho);
  let ow0 = (xw * params.wo) / params.w;
  let ow1 = min(((xw + 1u) * params.wo + params.w - 1u) / params.w, params.wo);
  var acc = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    let h0 = (oh * params.h) / params.ho;
    let h1 = ((oh + 1u) * params.h + params.ho - 1u) / params.ho;
    for (var ow = ow0; ow < ow1; ow++) {
      let w0 = (ow * params.w) / params.wo;
      let w1 = ((ow + 1u) * params.w + params.wo - 1u) / params.wo;
      acc += dy[obase + oh * params.wo + ow] / f32(h1 - h0) / f32(w1 - w0);
    }
  }
  dx[i] = acc;
}

// ---------------------------------------------------------------- global average pool

// x: (N, C, H, W) -> y: (N, C, 1, 1); one invocation per plane, reading the plane front to back.
@compute @workgroup_size(WG)
fn global_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = flat_index(gid, nwg);
  if (p >= params.planes) { return; }
  let hw = params.h * params.w;
  let base = p * hw;
  var sum = 0.0;
  for (var k = 0u; k < hw; k++) { sum += x[base + k]; }
  y[p] = sum / f32(hw);
}

// Same with vec4 loads, when H*W % 4 == 0 (every plane then starts on a vec4 boundary).
@compute @workgroup_size(WG)
fn global_forward_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = flat_index(gid, nwg);
  if (p >= params.planes) { return; }
  let hw4 = params.h * params.w / 4u;
  let base = p * hw4;
  var sum = vec4<f32>(0.0);
  for (var k = 0u; k < hw4; k++) { sum += x4[base + k]; }
  y[p] = ((sum.x + sum.y) + (sum.z + sum.w)) / f32(params.h * params.w);
}

// dy: (N, C, 1, 1) -> dx: (N, C, H, W)
@compute @workgroup_size(WG)
fn global_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  let hw = params.h * params.w;
  if (i >= params.planes * hw) { return; }
  dx[i] = dy[i / hw] / f32(hw);
}
