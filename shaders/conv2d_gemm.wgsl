// Implicit-GEMM conv2d without subgroups: a register-tiled kernel (the fallback for adapters without
// the subgroups feature) and a workgroup-shared-memory tiled kernel (the classic shape for real GPUs,
// where shared memory is fast and global loads are the bottleneck; on lavapipe it is the slowest).
// Operands packed by conv2d_pack.wgsl: xt (N, G, Hp, Wp, C4*4), zero-padded, channels-last; wt in
// k-steps of 4 input channels x 32 output channels (TN = 32). Output mapping as in conv2d_gemm_sg.wgsl.
// A workgroup covers 16 lane tiles of 4 consecutive output pixels in a row x 32 output channels;
// invocation lid takes tile lid / 4 and output channels 8 (lid % 4) .. 8 (lid % 4) + 7.

struct Params {
  tiles: u32, WT: u32,
  Ho: u32, Wo: u32,
  G: u32, NT: u32,
  C4: u32, KH: u32, KW: u32,
  SH: u32, SW: u32, DH: u32, DW: u32,
  Hp: u32, Wp: u32, xoff: u32,
  Og: u32,
  YH: u32, YW: u32,
  YSH: u32, YSW: u32, YRH: u32, YRW: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> xt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (G * Og); bound to wt when HAS_BIAS == 0
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // (N, G * Og, YH, YW)

override HAS_BIAS: u32 = 0;
override ACT: u32 = 0;  // 0: none, 1: relu

const TN: u32 = 32u;
const STEP: u32 = 32u;   // vec4s per k-step in wt (4 input channels x TN outputs)
const CHUNK: u32 = 4u;   // k-steps staged in shared memory per barrier

struct Tile {
  n: u32, g: u32, nt: u32, oc: u32, oh: u32, ow0: u32, valid: bool,
  x0: u32, w0: u32,
  slice: u32,   // this invocation's 8 output channels: oc + 8 slice ..
}

fn tile_of(wid: vec3u, nwg: vec3u, lid: u32) -> Tile {
  var t: Tile;
  let t0 = (wid.x + wid.z * nwg.x) * 16u + lid / 4u;
  t.slice = lid % 4u;
  t.valid = t0 < params.tiles;
  let ti = min(t0, params.tiles - 1u);
  let owt = ti % params.WT; let rest = ti / params.WT;
  t.oh = rest % params.Ho; t.n = rest / params.Ho;
  t.g = wid.y / params.NT; t.nt = wid.y % params.NT;
  t.oc = t.nt * TN;
  t.ow0 = owt * 4u;
  let C4 = params.C4;
  t.x0 = (((t.n * params.G + t.g) * params.Hp + t.oh * params.SH) * params.Wp + t.ow0 * params.SW) * C4 + params.xoff;
  t.w0 = (t.g * params.NT + t.nt) * params.KH * C4 * params.KW * STEP;
  return t;
}

fn put4(v: vec4f, t: Tile, c0: u32, i: u32) {
  if (!t.valid || t.ow0 + i >= params.Wo) { return; }
  var r = v;
  if (ACT == 1u) { r = max(r, vec4f(0.0)); }
  let Og = params.Og;
  let plane = (t.n * params.G + t.g) * Og;
  let pix = (t.oh * params.YSH + params.YRH) * params.YW + (t.ow0 + i) * params.YSW + params.YRW;
  let chs = params.YH * params.YW;
  for (var c = 0u; c < 4u; c++) {
    if (c0 + c < Og) { y[(plane + c0 + c) * chs + pix] = r[c]; }
  }
}

fn bias4(t: Tile, c0: u32) -> vec4f {
  var b = vec4f(0.0);
  if (HAS_BIAS == 0u) { return b; }
  for (var c = 0u; c < 4u; c++) {
    if (c0 + c < params.Og) { b[c] = bias[t.g * params.Og + c0 + c]; }
  }
  return b;
}

// acc[2 i + h] += sum_k p_i[k] * W[k, channels 8 slice + 4 h ..]
fn step8(acc: ptr<function, array<vec4f, 8>>, p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f,
         a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  (*acc)[0] += p0.x * a0 + p0.y * a1 + p0.z * a2 + p0.w * a3;
  (*acc)[1] += p0.x * b0 + p0.y * b1 + p0.z * b2 + p0.w * b3;
  (*acc)[2] += p1.x * a0 + p1.y * a1 + p1.z * a2 + p1.w * a3;
  (*acc)[3] += p1.x * b0 + p1.y * b1 + p1.z * b2 + p1.w * b3;
  (*acc)[4] += p2.x * a0 + p2.y * a1 + p2.z * a2 + p2.w * a3;
  (*acc)[5] += p2.x * b0 + p2.y * b1 + p2.z * b2 + p2.w * b3;
  (*acc)[6] += p3.x * a0 + p3.y * a1 + p3.z * a2 + p3.w * a3;
  (*acc)[7] += p3.x * b0 + p3.y * b1 + p3.z * b2 + p3.w * b3;
}

fn init8(acc: ptr<function, array<vec4f, 8>>, t: Tile) {
  let c0 = t.oc + 8u * t.slice;
  let ba = bias4(t, c0); let bb = bias4(t, c0 + 4u);
  for (var i = 0u; i < 4u; i++) { (*acc)[2u * i] = ba; (*acc)[2u * i + 1u] = bb; }
}

fn store8(acc: ptr<function, array<vec4f, 8>>, t: Tile) {
  let c0 = t.oc + 8u * t.slice;
  for (var i = 0u; i < 4u; i++) {
    put4((*acc)[2u * i], t, c0, i);
    put4((*acc)[2u * i + 1u], t, c0 + 4u, i);
  }
}

// Register-tiled: every invocation loads its own operands (4 pixel vec4s + 8 weight vec4s per k-step).
@compute @workgroup_size(64)
fn tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile_of(wid, nwg, lid);
  var acc: array<vec4f, 8>;
  init8(&acc, t);
  let C4 = params.C4; let KH = params.KH; let KW = params.KW;
  let ps = params.SW * C4;
  let rowStep = params.DH * params.Wp * C4;
  let colStep = params.DW * C4;
  var wi = t.w0 + 2u * t.slice;
  for (var kh = 0u; kh < KH; kh++) {
    var xr = t.x0 + kh * rowStep;
    for (var c = 0u; c < C4; c++) {
      var xk = xr;
      for (var kw = 0u; kw < KW; kw++) {
        let p0 = xt[xk]; let p1 = xt[xk + ps]; let p2 = xt[xk + 2u * ps]; let p3 = xt[xk + 3u * ps];
        step8(&acc, p0, p1, p2, p3,
              wt[wi], wt[wi + 8u], wt[wi + 16u], wt[wi + 24u],
              wt[wi + 1u], wt[wi + 9u], wt[wi + 17u], wt[wi + 25u]);
        xk += colStep; wi += STEP;
      }
      xr += 1u;
    }
  }
  store8(&acc, t);
}

var<workgroup> tileA: array<vec4f, 256>;  // [step in chunk][64 pixels]
var<workgroup> tileB: array<vec4f, 128>;  // [step in chunk][32 weight vec4s]

// Shared-memory tiled: the workgroup stages CHUNK k-steps of its 64 pixels and 32 channels, then every
// invocation reads its 4 pixels and 8 channels from shared memory.
@compute @workgroup_size(64)
fn shared_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile_of(wid, nwg, lid);
  var acc: array<vec4f, 8>;
  init8(&acc, t);
  let C4 = params.C4; let KW = params.KW;
  let steps = params.KH * C4 * KW;
  // The pixel this invocation stages: pixel lid % 4 of its own tile.
  let px = t.x0 + (lid % 4u) * params.SW * C4;
  let rowStep = params.DH * params.Wp * C4;
  let colStep = params.DW * C4;
  let tileBase = (lid / 4u) * 4u;
  for (var s0 = 0u; s0 < steps; s0 += CHUNK) {
    for (var u = 0u; u < CHUNK; u++) {
      let s = s0 + u;
      var a = vec4f(0.0);
      var b = vec4f(0.0);
      if (s < steps) {
        let kw = s % KW; let c = (s / KW) % C4; let kh = s / (KW * C4);
        a = xt[px + kh * rowStep + kw * colStep + c];
        if (lid < STEP) { b = wt[t.w0 + s * STEP + lid]; }
      }
      tileA[u * 64u + lid] = a;
      if (lid < STEP) { tileB[u * STEP + lid] = b; }
    }
    workgroupBarrier();
    for (var u = 0u; u < CHUNK; u++) {
      let pa = u * 64u + tileBase;
      let wb = u * STEP + 2u * t.slice;
      step8(&acc, tileA[pa], tileA[pa + 1u], tileA[pa + 2u], tileA[pa + 3u],
            tileB[wb], tileB[wb + 8u], tileB[wb + 16u], tileB[wb + 24u],
            tileB[wb + 1u], tileB[wb + 9u], tileB[wb + 17u], tileB[wb + 25u]);
    }
    workgroupBarrier();
  }
  store8(&acc, t);
}
