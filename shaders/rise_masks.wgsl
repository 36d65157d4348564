// RISE masks (Petsiuk et al. 2018), generated on the GPU from a seed so that mask i is the same
// whatever the batch it falls in: an s x s Bernoulli(p) grid, bilinearly upsampled
// (align_corners = false) to (s+1)*cell with cell = ceil(H/s), cropped at a random shift in [0, cell).
//
// masks: (B, 1, H, W) for global mask indices first .. first+B-1.

struct Params {
  first: u32,     // global index of the batch's first mask
  count: u32,     // B
  height: u32,
  width: u32,
  s: u32,         // grid cells per side
  cell_h: u32,    // ceil(H / s)
  cell_w: u32,    // ceil(W / s)
  p: f32,         // keep probability
  seed: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> masks: array<f32>;

override WG: u32 = 256;

// Counter-based hash (murmur3 finaliser): any (mask, cell) pair is random-accessible.
fn fmix32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x85ebca6bu;
  x ^= x >> 13u;
  x *= 0xc2b2ae35u;
  x ^= x >> 16u;
  return x;
}

fn uniform01(stream: u32, counter: u32) -> f32 {
  let h = fmix32(fmix32(params.seed ^ stream) + counter * 0x9e3779b9u);
  return f32(h >> 8u) / 16777216.0;
}

fn grid_value(mask: u32, gy: u32, gx: u32) -> f32 {
  let cell = (mask * params.s + gy) * params.s + gx;
  return select(0.0, 1.0, uniform01(0x52495345u, cell) < params.p);
}

// Source coordinate of an upsampled pixel in the s-cell grid (PyTorch align_corners = false).
fn source_coord(dst: u32, up: u32) -> f32 {
  let scale = f32(params.s) / f32(up);
  return max((f32(dst) + 0.5) * scale - 0.5, 0.0);
}

@compute @workgroup_size(WG)
fn generate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let plane = params.height * params.width;
  if (i >= params.count * plane) { return; }
  let b = i / plane;
  let row = (i % plane) / params.width;
  let col = i % params.width;
  let mask = params.first + b;
  let shift_y = min(u32(uniform01(0x53484659u, mask) * f32(params.cell_h)), params.cell_h - 1u);
  let shift_x = min(u32(uniform01(0x53484658u, mask) * f32(params.cell_w)), params.cell_w - 1u);
  let up_h = (params.s + 1u) * params.cell_h;
  let up_w = (params.s + 1u) * params.cell_w;
  let sy = source_coord(row + shift_y, up_h);
  let sx = source_coord(col + shift_x, up_w);
  let y0 = min(u32(floor(sy)), params.s - 1u);
  let x0 = min(u32(floor(sx)), params.s - 1u);
  let y1 = min(y0 + 1u, params.s - 1u);
  let x1 = min(x0 + 1u, params.s - 1u);
  let ly = sy - f32(y0);
  let lx = sx - f32(x0);
  let top = mix(grid_value(mask, y0, x0), grid_value(mask, y0, x1), lx);
  let bottom = mix(grid_value(mask, y1, x0), grid_value(mask, y1, x1), lx);
  masks[i] = mix(top, bottom, ly);
}
