// CIFAR ResNet "option A" shortcut: y = x[:, :, ::2, ::2] with the channels zero-padded by
// PAD = (OC - C) / 2 on both sides, as in F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, PAD, PAD)).
//   x:  (N, C, H, W)
//   y:  (N, OC, Ho, Wo) with Ho = ceil(H / 2), Wo = ceil(W / 2)
// Forward: one invocation per output. Backward: one per input (dy lands on the even positions).

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

override WG: u32 = 256;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n * params.oc * params.ho * params.wo) { return; }
  let ow = i % params.wo;
  let oh = (i / params.wo) % params.ho;
  let oc = (i / (params.wo * params.ho)) % params.oc;
  let n = i / (params.wo * params.ho * params.oc);
  var v = 0.0;
  // oc - pad wraps around for oc < pad, which the range test rejects too.
  let c = oc - params.pad;
  if (oc >= params.pad && c < params.c) {
    v = x[((n * params.c + c) * params.h + 2u * oh) * params.w + 2u * ow];
  }
  y[i] = v;
}

// dy: (N, OC, Ho, Wo) -> dx: (N, C, H, W)
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n * params.c * params.h * params.w) { return; }
  let xw = i % params.w;
  let xh = (i / params.w) % params.h;
  let c = (i / (params.w * params.h)) % params.c;
  let n = i / (params.w * params.h * params.c);
  var g = 0.0;
  if ((xh & 1u) == 0u && (xw & 1u) == 0u) {
    g = dy[((n * params.oc + c + params.pad) * params.ho + xh / 2u) * params.wo + xw / 2u];
  }
  dx[i] = g;
}
