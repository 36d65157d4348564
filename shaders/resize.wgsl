// Bilinear resize with PyTorch's align_corners=False semantics (F.interpolate(mode='bilinear')):
// output pixel d samples source coordinate s = max((d + 0.5) * in/out - 0.5, 0), interpolating
// between floor(s) and floor(s) + 1 (clamped to the last pixel). No antialiasing, so downsampling
// reads only 2x2 pixels per output, exactly like PyTorch.
//   x:  (N, C, H, W)  seen as P = N*C planes
//   y:  (N, C, Ho, Wo)
// Forward: one invocation per output. Backward: one per input pixel, gathering from the outputs that
// sampled it with the forward's own weights (no atomics).
// The forward also has align_corners=True (s = d * (in-1)/(out-1), Score-CAM's masks in pytorch-grad-cam);
// the backward is align_corners=False only.

struct Params {
  planes: u32,
  h: u32, w: u32,
  ho: u32, wo: u32,
  // in/out (or (in-1)/(out-1) when aligning corners), rounded to f32 on the host as PyTorch computes it.
  scale_h: f32, scale_w: f32,
  // 1: align_corners=True (forward only).
  align_corners: u32,
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

struct Taps { i0: u32, i1: u32, l0: f32, l1: f32, }

// PyTorch's area_pixel_compute_source_index + guard_index_and_lambda, in f32 like its CPU kernel.
fn taps(dst: u32, scale: f32, size_in: u32) -> Taps {
  let s = select(max(scale * (f32(dst) + 0.5) - 0.5, 0.0), scale * f32(dst), params.align_corners == 1u);
  let i0 = min(u32(floor(s)), size_in - 1u);
  let l1 = clamp(s - f32(i0), 0.0, 1.0);
  let i1 = select(i0, i0 + 1u, i0 + 1u < size_in);
  return Taps(i0, i1, 1.0 - l1, l1);
}

// The weight output row/col `dst` gives input row/col `src` (0 when it does not touch it).
fn weight_for(dst: u32, src: u32, scale: f32, size_in: u32) -> f32 {
  let t = taps(dst, scale, size_in);
  return select(0.0, t.l0, t.i0 == src) + select(0.0, t.l1, t.i1 == src);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.ho * params.wo) { return; }
  let ow = i % params.wo;
  let oh = (i / params.wo) % params.ho;
  let base = (i / (params.wo * params.ho)) * params.h * params.w;
  let th = taps(oh, params.scale_h, params.h);
  let tw = taps(ow, params.scale_w, params.w);
  let r0 = base + th.i0 * params.w;
  let r1 = base + th.i1 * params.w;
  let top = tw.l0 * x[r0 + tw.i0] + tw.l1 * x[r0 + tw.i1];
  let bottom = tw.l0 * x[r1 + tw.i0] + tw.l1 * x[r1 + tw.i1];
  y[i] = th.l0 * top + th.l1 * bottom;
}

// Output rows that can touch input row `src`: the source coordinate is monotone in the output index,
// so they lie in a band; one extra row each side absorbs f32 rounding, and weight_for decides exactly.
fn band(src: u32, scale: f32, size_out: u32) -> vec2u {
  let lo = floor((f32(src) - 0.5) / scale - 0.5) - 1.0;
  let hi = ceil((f32(src) + 1.5) / scale - 0.5) + 1.0;
  return vec2u(u32(max(lo, 0.0)), u32(clamp(hi + 1.0, 0.0, f32(size_out))));
}

// dy: (N, C, Ho, Wo) -> dx: (N, C, H, W)
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.planes * params.h * params.w) { return; }
  let xw = i % params.w;
  let xh = (i / params.w) % params.h;
  let obase = (i / (params.h * params.w)) * params.ho * params.wo;
  let rows = band(xh, params.scale_h, params.ho);
  let cols = band(xw, params.scale_w, params.wo);
  var acc = 0.0;
  for (var oh = rows.x; oh < rows.y; oh++) {
    let wh = weight_for(oh, xh, params.scale_h, params.h);
    if (wh == 0.0) { continue; }
    var row = 0.0;
    for (var ow = cols.x; ow < cols.y; ow++) {
      let ww = weight_for(ow, xw, params.scale_w, params.w);
      row += ww * dy[obase + oh * params.wo + ow];
    }
    acc += wh * row;
  }
  dx[i] = acc;
}
