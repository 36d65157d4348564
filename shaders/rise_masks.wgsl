// RISE masks (Petsiuk et al. 2018), generated on the GPU from a seed so that mask i is the same
// whatever the batch it falls in: an s x s Bernoulli(p) grid, bilinearly upsampled
// (align_corners = false) to (s+1)*cell with cell = ceil(H/s), cropped at a random shift in [0, cell).
//
// masks: (B, 1, H, W) for global mask indices first .. first+B-1.
// generate: one invocation per mask value. generate4 (W a multiple of 4): one invocation per mask row,
// stored as vec4s, so that the index arithmetic (integer divisions, scalarised on software adapters) and
// the shifts are paid per row. generate_masked4 also writes the masked inputs: for K image planes
// (G images x C channels, (K, H, W)) masked (B, K, H, W) = mask b times plane k, the first layer's input,
// without a second pass that reads the masks back.

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
  planes: u32,    // K image planes (generate_masked4)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> masks: array<f32>;
@group(0) @binding(2) var<storage, read_write> masks4: array<vec4f>;
@group(0) @binding(3) var<storage, read> planes4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> masked4: array<vec4f>;

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

// The vertical half of a mask row: its grid rows, weight, and the mask's horizontal shift.
struct MaskRow {
  mask: u32,
  y0: u32,
  y1: u32,
  ly: f32,
  shift_x: u32,
}

fn mask_row(b: u32, row: u32) -> MaskRow {
  let mask = params.first + b;
  let shift_y = min(u32(uniform01(0x53484659u, mask) * f32(params.cell_h)), params.cell_h - 1u);
  let shift_x = min(u32(uniform01(0x53484658u, mask) * f32(params.cell_w)), params.cell_w - 1u);
  let sy = source_coord(row + shift_y, (params.s + 1u) * params.cell_h);
  let y0 = min(u32(floor(sy)), params.s - 1u);
  return MaskRow(mask, y0, min(y0 + 1u, params.s - 1u), sy - f32(y0), shift_x);
}

fn mask_value(m: MaskRow, col: u32) -> f32 {
  let sx = source_coord(col + m.shift_x, (params.s + 1u) * params.cell_w);
  let x0 = min(u32(floor(sx)), params.s - 1u);
  let x1 = min(x0 + 1u, params.s - 1u);
  let lx = sx - f32(x0);
  let top = mix(grid_value(m.mask, m.y0, x0), grid_value(m.mask, m.y0, x1), lx);
  let bottom = mix(grid_value(m.mask, m.y1, x0), grid_value(m.mask, m.y1, x1), lx);
  return mix(top, bottom, m.ly);
}

fn mask_quad(m: MaskRow, col: u32) -> vec4f {
  return vec4f(mask_value(m, col), mask_value(m, col + 1u), mask_value(m, col + 2u), mask_value(m, col + 3u));
}

@compute @workgroup_size(WG)
fn generate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let plane = params.height * params.width;
  if (i >= params.count * plane) { return; }
  let b = i / plane;
  masks[i] = mask_value(mask_row(b, (i % plane) / params.width), i % params.width);
}

@compute @workgroup_size(WG)
fn generate4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.count * params.height) { return; }
  let m = mask_row(r / params.height, r % params.height);
  let quads = params.width / 4u;
  for (var q = 0u; q < quads; q++) { masks4[r * quads + q] = mask_quad(m, 4u * q); }
}

@compute @workgroup_size(WG)
fn generate_masked4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.count * params.height) { return; }
  let b = r / params.height;
  let row = r % params.height;
  let m = mask_row(b, row);
  let quads = params.width / 4u;
  let rowsPerPlane = params.height * quads;
  for (var q = 0u; q < quads; q++) {
    let value = mask_quad(m, 4u * q);
    masks4[r * quads + q] = value;
    var src = row * quads + q;
    var dst = b * params.planes * rowsPerPlane + src;
    for (var k = 0u; k < params.planes; k++) {
      masked4[dst] = value * planes4[src];
      src += rowsPerPlane;
      dst += rowsPerPlane;
    }
  }
}
