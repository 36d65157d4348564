// CIFAR ResNet "option A" shortcut: y = x[:, :, ::2, ::2] with the channels zero-padded by
// PAD = (OC - C) / 2 on both sides, as in F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, PAD, PAD)).
//   x:  (N, C, H, W)
//   y:  (N, OC, Ho, Wo) with Ho = ceil(H / 2), Wo = ceil(W / 2)
// Forward: one invocation per output row. Backward: one per input row (dy lands on the even positions).
// The *4 entries, for widths that are multiples of 8, move rows as vec4s (an output vec4 is the even
// elements of two input vec4s, a dy vec4 spreads into two dx vec4s), one invocation per plane.

struct Params {
  n: u32,
  c: u32, h: u32, w: u32,
  oc: u32, ho: u32, wo: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read> x4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(7) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dx4: array<vec4f>;

override WG: u32 = 256;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// One invocation per row (n, oc, oh) of y: the index arithmetic (integer divisions, which software
// adapters scalarise) is paid once per Wo outputs, not per output.
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flat_index(gid, nwg);
  if (r >= params.n * params.oc * params.ho) { return; }
  let oh = r % params.ho;
  let oc = (r / params.ho) % params.oc;
  let n = r / (params.ho * params.oc);
  let out = r * params.wo;
  // oc - pad wraps around for oc < pad, which the range test rejects too.
  let c = oc - params.pad;
  if (oc < params.pad || c >= params.c) {
    for (var ow = 0u; ow < params.wo; ow++) { y[out + ow] = 0.0; }
    return;
  }
  let src = ((n * params.c + c) * params.h + 2u * oh) * params.w;
  for (var ow = 0u; ow < params.wo; ow++) { y[out + ow] = x[src + 2u * ow]; }
}

// dy: (N, OC, Ho, Wo) -> dx: (N, C, H, W); one invocation per row (n, c, xh) of dx.
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flat_index(gid, nwg);
  if (r >= params.n * params.c * params.h) { return; }
  let xh = r % params.h;
  let c = (r / params.h) % params.c;
  let n = r / (params.h * params.c);
  let out = r * params.w;
  if ((xh & 1u) != 0u) {
    for (var xw = 0u; xw < params.w; xw++) { dx[out + xw] = 0.0; }
    return;
  }
  let src = ((n * params.oc + c + params.pad) * params.ho + xh / 2u) * params.wo;
  for (var xw = 0u; xw < params.w; xw++) {
    let even = (xw & 1u) == 0u;
    dx[out + xw] = select(0.0, dy[src + xw / 2u], even);
  }
}

// forward on rows of whole vec4s (W % 8 == 0), one invocation per output plane (n, oc): two input vec4s
// per output vec4.
@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flat_index(gid, nwg);
  if (r >= params.n * params.oc) { return; }
  let oc = r % params.oc;
  let n = r / params.oc;
  let quads = params.wo / 4u;
  let count = params.ho * quads;
  let out = r * count;
  let c = oc - params.pad;
  if (oc < params.pad || c >= params.c) {
    for (var q = 0u; q < count; q++) { y4[out + q] = vec4f(0.0); }
    return;
  }
  let rowQuads = params.w / 4u;
  var src = (n * params.c + c) * params.h * rowQuads;
  var o = out;
  for (var oh = 0u; oh < params.ho; oh++) {
    for (var q = 0u; q < quads; q++) {
      let a = x4[src + 2u * q];
      let b = x4[src + 2u * q + 1u];
      y4[o + q] = vec4f(a.x, a.z, b.x, b.z);
    }
    src += 2u * rowQuads;
    o += quads;
  }
}

// backward on rows of whole vec4s (W % 8 == 0), one invocation per dx plane (n, c): each dy vec4 fills
// two dx vec4s of an even row; odd rows are zero.
@compute @workgroup_size(WG)
fn backward4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = flat_index(gid, nwg);
  if (r >= params.n * params.c) { return; }
  let c = r % params.c;
  let n = r / params.c;
  let quads = params.wo / 4u;
  let rowQuads = params.w / 4u;
  var o = r * params.h * rowQuads;
  var src = (n * params.oc + c + params.pad) * params.ho * quads;
  for (var xh = 0u; xh < params.h; xh++) {
    if ((xh & 1u) != 0u) {
      for (var q = 0u; q < rowQuads; q++) { dx4[o + q] = vec4f(0.0); }
    } else {
      for (var q = 0u; q < quads; q++) {
        let d = dy4[src + q];
        dx4[o + 2u * q] = vec4f(d.x, 0.0, d.y, 0.0);
        dx4[o + 2u * q + 1u] = vec4f(d.z, 0.0, d.w, 0.0);
      }
      src += quads;
    }
    o += rowQuads;
  }
}
