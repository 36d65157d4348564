enable subgroups;

// Implicit-GEMM conv2d for adapters where subgroup broadcasts are cheap and memory loads are dear.
// Written for Mesa lavapipe (docs/adapter.md): there every load is a loop over the lanes (a vec4 costs
// about 1.6 scalar loads, a workgroup-uniform one no less), while subgroupBroadcast is one shuffle, so
// the kernel is organised to load each value once per subgroup and to reuse it as often as registers
// allow. A faster shape on a real GPU is conv2d_gemm.wgsl's shared-memory kernel.
//
// GEMM view of a conv: rows = output pixels, columns = output channels, K = (kh, c, kw). The input is
// read straight from NCHW. Four channels of a pixel are then four scalar loads, which on lavapipe cost
// about 2.5x one vec4 (docs/adapter.md); a channels-last copy would cost a pass per conv, so the flat and
// rows entries load vec4s along W instead. Weights are packed (conv2d_pack.wgsl, cached by the caller):
// one k-step = 4 input channels x TN output channels = TN vec4s.
// A workgroup is one subgroup of 8 lanes. A lane owns TM consecutive output pixels of one row; the
// 8 lanes share the same TN output channels, whose weights they load cooperatively (one vec4 per lane
// per TN/8 channels) and exchange with subgroupBroadcast:
//   wide   TM = 4, TN = 32: 32 vec4 accumulators per lane; per k-step 4 + 4 vec4 loads for 512 FMAs.
//   mid    TM = 8, TN = 16: the same accumulators for 9..16 output channels, and for the 3-tap rows
//          entry up to 64 (one channel tile per 16).
//   narrow TM = 8, TN = 4:  for GEMMs with few output channels (backward of the RGB stem).
// Entry points by geometry:
//   *_1x1: a single loop over channels (1x1 kernels; any stride).
//   *_s1:  stride 1 and dilation 1 along W: the lane's input window slides one pixel per kw, so each
//          tap after the first costs one new pixel load instead of TM (3x3 convs load ~3x less).
//   *_s1_rows: the same with 3 taps at padding 1 on rows of whole vec4s: windows loaded and outputs
//          stored as aligned vec4s (wide_s2_rows: stride 2; mid_t2_rows: backward to the input of a
//          stride-2 conv, two dx pixels per dy pixel).
//   *_any: any stride and dilation.
// Zero padding and channel counts that are not multiples of 4 are handled by masking loads to zero.
// Lanes whose pixels run past the output row end compute values that are never stored.
// Requires a subgroup of at least 8 invocations (the workgroup is exactly 8).

struct Params {
  tiles: u32, WT: u32,          // lane tiles = N * Ho * WT, WT = ceil(Wo / TM) tiles per output row
  Ho: u32, Wo: u32,             // GEMM output grid (one phase of dx for strided backward)
  G: u32, NT: u32,              // groups, output-channel tiles per group
  Ci: u32, C4: u32,             // input channels per group, and that rounded up to vec4s
  KH: u32, KW: u32,
  SH: u32, SW: u32, DH: u32, DW: u32,
  XC: u32, XH: u32, XW: u32,    // input tensor (N, XC, XH, XW)
  OH0: i32, OW0: i32,           // input position read by grid pixel (0, 0) at tap (0, 0): -padding forward
  Og: u32,                      // output channels per group
  YH: u32, YW: u32,             // spatial size of the output tensor
  YSH: u32, YSW: u32, YRH: u32, YRW: u32,  // grid pixel (i, j) is stored at (i*YSH + YRH, j*YSW + YRW)
  YNB: u32, YPB: u32,           // grid image n is image n / YNB of y, its pixels offset by (n % YNB) * YPB
                                // (im2col_quads' columns: one grid image per pixel quad); 1 and 0 otherwise
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // (N, XC, XH, XW)
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>; // packed weights
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (G * Og); bound to wt when HAS_BIAS == 0
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // (N, G * Og, YH, YW)
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;        // x as vec4s (wide_flat_v4)
@group(0) @binding(6) var<storage, read_write> y4: array<vec4<f32>>;  // y as vec4s (wide_flat_v4)
// The epilogue, applied at the store after the bias: y = act(((acc + bias) * scale + shift + res) * [mask > 0]).
// The mask takes backward to the input on through the ReLU before the conv (mask: that ReLU's output).
@group(0) @binding(7) var<storage, read> scale: array<f32>;    // (G * Og); bound to wt when AFFINE == 0
@group(0) @binding(8) var<storage, read> shift: array<f32>;    // (G * Og)
@group(0) @binding(9) var<storage, read> res: array<f32>;      // like y; bound to wt when RESIDUAL == 0
@group(0) @binding(10) var<storage, read> res4: array<vec4<f32>>;  // res as vec4s (wide_flat_v4)
@group(0) @binding(11) var<storage, read> mask: array<f32>;     // like y; bound to wt when MASK == 0
@group(0) @binding(12) var<storage, read> mask4: array<vec4<f32>>;  // mask as vec4s (wide_flat_v4)

override HAS_BIAS: u32 = 0;
override AFFINE: u32 = 0;    // inference batch-norm folded to a per-channel scale and shift
override RESIDUAL: u32 = 0;  // add a tensor of y's shape (a residual block's shortcut, or a gradient)
override MASK: u32 = 0;      // zero where a tensor of y's shape is <= 0
override ACT: u32 = 0;  // 0: none, 1: relu

struct Tile {
  n: u32, g: u32, nt: u32,
  oc: u32,      // first output channel of the tile within its group
  oh: u32, ow0: u32,
  valid: bool,  // false for the padding lanes of the last workgroup
  plane: u32,   // x index of (n, first channel of the group, 0, 0)
  ih0: i32,     // input row of the tile at tap row 0
  iw0: i32,     // input column of the tile's first pixel at tap column 0
  w0: u32,      // wt vec4 index of the tile's first k-step
}

// BAND > 0: workgroups run a band of BAND 8-tile groups for every channel tile of the band before the
// next band (lavapipe runs workgroups in order of their linear index, x fastest), so the band's inputs
// are still cached when the next channel tile reads them, instead of being streamed once per channel
// tile. The host sets it for the flat GEMMs with 4 channel tiles or more (src/kernels/conv2d-gemm.ts).
override BAND: u32 = 0;

fn tile_of(wid: vec3u, nwg: vec3u, lane: u32, TM: u32, TN: u32) -> Tile {
  let g = group_of(wid, nwg);
  return tile_at(g.x, g.y, lane, TM, TN);
}

// The workgroup's 8-tile group and channel-tile row (g * NT + nt). Workgroups: x (folded into z past
// 65535) walks 8-tile groups, y = g * NT + nt; BAND reorders them.
fn group_of(wid: vec3u, nwg: vec3u) -> vec2u {
  var px = wid.x + wid.z * nwg.x;
  var gy = wid.y;
  if (BAND > 0u) {
    let B = max(BAND, 1u);  // never 0: Tint rejects a division by a zero constant even where unused
    let lin = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
    let band = lin / (B * nwg.y);
    let groups = min(B, nwg.x * nwg.z - band * B);  // the last band may be short
    let inb = lin - band * B * nwg.y;
    px = band * B + inb % groups;
    gy = inb / groups;
  }
  return vec2u(px, gy);
}

// The lane's tile in 8-tile group px of channel-tile row gy (g * NT + nt).
fn tile_at(px: u32, gy: u32, lane: u32, TM: u32, TN: u32) -> Tile {
  var t: Tile;
  let t0 = px * 8u + lane;
  t.valid = t0 < params.tiles;
  let ti = min(t0, params.tiles - 1u);
  let owt = ti % params.WT; let rest = ti / params.WT;
  t.oh = rest % params.Ho; t.n = rest / params.Ho;
  t.g = gy / params.NT; t.nt = gy % params.NT;
  t.oc = t.nt * TN;
  t.ow0 = owt * TM;
  t.plane = (t.n * params.XC + t.g * params.Ci) * params.XH * params.XW;
  t.ih0 = i32(t.oh * params.SH) + params.OH0;
  t.iw0 = i32(t.ow0 * params.SW) + params.OW0;
  t.w0 = (t.g * params.NT + t.nt) * params.KH * params.C4 * params.KW * TN;
  return t;
}

// Geometry the inner loops need, read from the uniform buffer once (uniform loads are not cheap either).
struct Geo { XH: i32, XW: i32, HW: u32, Ci: u32 }

fn geo() -> Geo {
  return Geo(i32(params.XH), i32(params.XW), params.XH * params.XW, params.Ci);
}

// Input channels c0..c0+3 at (ih, iw) of the lane's image and group: 0 outside the image (zero padding)
// and past the group's channels. Masked lanes read a safe index and discard it.
fn ld4(gm: Geo, plane: u32, c0: u32, ih: i32, iw: i32) -> vec4f {
  let ok = ih >= 0 && ih < gm.XH && iw >= 0 && iw < gm.XW;
  let p = plane + select(0u, u32(ih * gm.XW + iw), ok);
  let v = vec4f(x[p], x[p + gm.HW], x[p + 2u * gm.HW], x[p + 3u * gm.HW]);
  let keep = vec4<bool>(ok && c0 < gm.Ci, ok && c0 + 1u < gm.Ci, ok && c0 + 2u < gm.Ci, ok && c0 + 3u < gm.Ci);
  return select(vec4f(0.0), v, keep);
}

struct Out { plane: u32, chs: u32, pix: u32 }

fn out_map(t: Tile) -> Out {
  var o: Out;
  let n = t.n / params.YNB;
  o.plane = (n * params.G + t.g) * params.Og;
  o.chs = params.YH * params.YW;
  o.pix = (t.n - n * params.YNB) * params.YPB + (t.oh * params.YSH + params.YRH) * params.YW + t.ow0 * params.YSW + params.YRW;
  return o;
}

// Stores output channels c0..c0+3 (within the group) of one pixel.
fn put4(v: vec4f, o: Out, c0: u32, pix: u32, ok: bool) {
  if (!ok) { return; }
  let Og = params.Og;
  // o.plane = (n * G + g) * Og, so o.plane % (G * Og) is the group's first channel
  let ch0 = o.plane % (params.G * Og) + c0;
  for (var c = 0u; c < 4u; c++) {
    if (c0 + c < Og) {
      let yi = (o.plane + c0 + c) * o.chs + pix;
      var r = v[c];
      if (AFFINE == 1u) { r = r * scale[ch0 + c] + shift[ch0 + c]; }
      if (RESIDUAL == 1u) { r += res[yi]; }
      if (MASK == 1u) { r = select(0.0, r, mask[yi] > 0.0); }
      if (ACT == 1u) { r = max(r, 0.0); }
      y[yi] = r;
    }
  }
}

fn load_bias(t: Tile, ch: u32) -> f32 {
  let o = t.oc + ch;
  if (o < params.Og) { return bias[t.g * params.Og + o]; }
  return 0.0;
}

// ---------------------------------------------------------------- wide: 4 pixels x 32 channels per lane
// acc[8 i + j]: pixel i, channels 4j..4j+3 of the tile.
// One k-step: w_k (lane j) holds the weights of input channel k for output channels 4j..4j+3.
// The helpers below are unrolled by hand: subgroupBroadcast needs a constant lane, and the
// accumulators stay in registers only while every index into them is a constant. Each update sums
// the four k of a step before touching the accumulator, which quarters the masked writes lavapipe
// emits for variables assigned inside loops.
fn init_wide(acc: ptr<function, array<vec4f, 32>>, t: Tile, lane: u32) {
  if (HAS_BIAS == 0u) { return; }
  // lane l fetches the bias of channels oc + l + 8r; channel group j is lanes 4(j%2)..+3 of register j/2
  let b0 = load_bias(t, lane); let b1 = load_bias(t, lane + 8u); let b2 = load_bias(t, lane + 16u); let b3 = load_bias(t, lane + 24u);
  let g0 = vec4f(subgroupBroadcast(b0, 0u), subgroupBroadcast(b0, 1u), subgroupBroadcast(b0, 2u), subgroupBroadcast(b0, 3u));
  let g1 = vec4f(subgroupBroadcast(b0, 4u), subgroupBroadcast(b0, 5u), subgroupBroadcast(b0, 6u), subgroupBroadcast(b0, 7u));
  let g2 = vec4f(subgroupBroadcast(b1, 0u), subgroupBroadcast(b1, 1u), subgroupBroadcast(b1, 2u), subgroupBroadcast(b1, 3u));
  let g3 = vec4f(subgroupBroadcast(b1, 4u), subgroupBroadcast(b1, 5u), subgroupBroadcast(b1, 6u), subgroupBroadcast(b1, 7u));
  let g4 = vec4f(subgroupBroadcast(b2, 0u), subgroupBroadcast(b2, 1u), subgroupBroadcast(b2, 2u), subgroupBroadcast(b2, 3u));
  let g5 = vec4f(subgroupBroadcast(b2, 4u), subgroupBroadcast(b2, 5u), subgroupBroadcast(b2, 6u), subgroupBroadcast(b2, 7u));
  let g6 = vec4f(subgroupBroadcast(b3, 0u), subgroupBroadcast(b3, 1u), subgroupBroadcast(b3, 2u), subgroupBroadcast(b3, 3u));
  let g7 = vec4f(subgroupBroadcast(b3, 4u), subgroupBroadcast(b3, 5u), subgroupBroadcast(b3, 6u), subgroupBroadcast(b3, 7u));
  (*acc)[0] = g0; (*acc)[1] = g1; (*acc)[2] = g2; (*acc)[3] = g3; (*acc)[4] = g4; (*acc)[5] = g5; (*acc)[6] = g6; (*acc)[7] = g7; (*acc)[8] = g0; (*acc)[9] = g1; (*acc)[10] = g2; (*acc)[11] = g3; (*acc)[12] = g4; (*acc)[13] = g5; (*acc)[14] = g6; (*acc)[15] = g7;
  (*acc)[16] = g0; (*acc)[17] = g1; (*acc)[18] = g2; (*acc)[19] = g3; (*acc)[20] = g4; (*acc)[21] = g5; (*acc)[22] = g6; (*acc)[23] = g7; (*acc)[24] = g0; (*acc)[25] = g1; (*acc)[26] = g2; (*acc)[27] = g3; (*acc)[28] = g4; (*acc)[29] = g5; (*acc)[30] = g6; (*acc)[31] = g7;
}

fn step_wide(acc: ptr<function, array<vec4f, 32>>, p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f,
             w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f) {
  { let b0 = subgroupBroadcast(w0, 0u); let b1 = subgroupBroadcast(w1, 0u); let b2 = subgroupBroadcast(w2, 0u); let b3 = subgroupBroadcast(w3, 0u);
    (*acc)[0] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[0]))));
    (*acc)[8] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[8]))));
    (*acc)[16] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[16]))));
    (*acc)[24] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[24])))); }
  { let b0 = subgroupBroadcast(w0, 1u); let b1 = subgroupBroadcast(w1, 1u); let b2 = subgroupBroadcast(w2, 1u); let b3 = subgroupBroadcast(w3, 1u);
    (*acc)[1] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[1]))));
    (*acc)[9] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[9]))));
    (*acc)[17] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[17]))));
    (*acc)[25] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[25])))); }
  { let b0 = subgroupBroadcast(w0, 2u); let b1 = subgroupBroadcast(w1, 2u); let b2 = subgroupBroadcast(w2, 2u); let b3 = subgroupBroadcast(w3, 2u);
    (*acc)[2] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[2]))));
    (*acc)[10] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[10]))));
    (*acc)[18] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[18]))));
    (*acc)[26] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[26])))); }
  { let b0 = subgroupBroadcast(w0, 3u); let b1 = subgroupBroadcast(w1, 3u); let b2 = subgroupBroadcast(w2, 3u); let b3 = subgroupBroadcast(w3, 3u);
    (*acc)[3] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[3]))));
    (*acc)[11] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[11]))));
    (*acc)[19] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[19]))));
    (*acc)[27] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[27])))); }
  { let b0 = subgroupBroadcast(w0, 4u); let b1 = subgroupBroadcast(w1, 4u); let b2 = subgroupBroadcast(w2, 4u); let b3 = subgroupBroadcast(w3, 4u);
    (*acc)[4] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[4]))));
    (*acc)[12] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[12]))));
    (*acc)[20] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[20]))));
    (*acc)[28] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[28])))); }
  { let b0 = subgroupBroadcast(w0, 5u); let b1 = subgroupBroadcast(w1, 5u); let b2 = subgroupBroadcast(w2, 5u); let b3 = subgroupBroadcast(w3, 5u);
    (*acc)[5] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[5]))));
    (*acc)[13] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[13]))));
    (*acc)[21] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[21]))));
    (*acc)[29] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[29])))); }
  { let b0 = subgroupBroadcast(w0, 6u); let b1 = subgroupBroadcast(w1, 6u); let b2 = subgroupBroadcast(w2, 6u); let b3 = subgroupBroadcast(w3, 6u);
    (*acc)[6] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[6]))));
    (*acc)[14] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[14]))));
    (*acc)[22] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[22]))));
    (*acc)[30] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[30])))); }
  { let b0 = subgroupBroadcast(w0, 7u); let b1 = subgroupBroadcast(w1, 7u); let b2 = subgroupBroadcast(w2, 7u); let b3 = subgroupBroadcast(w3, 7u);
    (*acc)[7] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[7]))));
    (*acc)[15] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[15]))));
    (*acc)[23] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[23]))));
    (*acc)[31] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[31])))); }
}

fn store_wide(acc: ptr<function, array<vec4f, 32>>, t: Tile) {
  let o = out_map(t);
  let pix0 = o.pix + 0u * params.YSW; let ok0 = t.valid && t.ow0 + 0u < params.Wo;
  let pix1 = o.pix + 1u * params.YSW; let ok1 = t.valid && t.ow0 + 1u < params.Wo;
  let pix2 = o.pix + 2u * params.YSW; let ok2 = t.valid && t.ow0 + 2u < params.Wo;
  let pix3 = o.pix + 3u * params.YSW; let ok3 = t.valid && t.ow0 + 3u < params.Wo;
  put4((*acc)[0], o, t.oc + 0u, pix0, ok0); put4((*acc)[1], o, t.oc + 4u, pix0, ok0); put4((*acc)[2], o, t.oc + 8u, pix0, ok0); put4((*acc)[3], o, t.oc + 12u, pix0, ok0); put4((*acc)[4], o, t.oc + 16u, pix0, ok0); put4((*acc)[5], o, t.oc + 20u, pix0, ok0); put4((*acc)[6], o, t.oc + 24u, pix0, ok0); put4((*acc)[7], o, t.oc + 28u, pix0, ok0);
  put4((*acc)[8], o, t.oc + 0u, pix1, ok1); put4((*acc)[9], o, t.oc + 4u, pix1, ok1); put4((*acc)[10], o, t.oc + 8u, pix1, ok1); put4((*acc)[11], o, t.oc + 12u, pix1, ok1); put4((*acc)[12], o, t.oc + 16u, pix1, ok1); put4((*acc)[13], o, t.oc + 20u, pix1, ok1); put4((*acc)[14], o, t.oc + 24u, pix1, ok1); put4((*acc)[15], o, t.oc + 28u, pix1, ok1);
  put4((*acc)[16], o, t.oc + 0u, pix2, ok2); put4((*acc)[17], o, t.oc + 4u, pix2, ok2); put4((*acc)[18], o, t.oc + 8u, pix2, ok2); put4((*acc)[19], o, t.oc + 12u, pix2, ok2); put4((*acc)[20], o, t.oc + 16u, pix2, ok2); put4((*acc)[21], o, t.oc + 20u, pix2, ok2); put4((*acc)[22], o, t.oc + 24u, pix2, ok2); put4((*acc)[23], o, t.oc + 28u, pix2, ok2);
  put4((*acc)[24], o, t.oc + 0u, pix3, ok3); put4((*acc)[25], o, t.oc + 4u, pix3, ok3); put4((*acc)[26], o, t.oc + 8u, pix3, ok3); put4((*acc)[27], o, t.oc + 12u, pix3, ok3); put4((*acc)[28], o, t.oc + 16u, pix3, ok3); put4((*acc)[29], o, t.oc + 20u, pix3, ok3); put4((*acc)[30], o, t.oc + 24u, pix3, ok3); put4((*acc)[31], o, t.oc + 28u, pix3, ok3);
}

@compute @workgroup_size(8)
fn wide_1x1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4;
  let SW = i32(params.SW);
  let ih = t.ih0;
  var plane = t.plane;
  var wi = t.w0 + lane;
  for (var c = 0u; c < C4; c++) {
    let c0 = 4u * c;
    let p0 = ld4(gm, plane, c0, ih, t.iw0); let p1 = ld4(gm, plane, c0, ih, t.iw0 + SW);
    let p2 = ld4(gm, plane, c0, ih, t.iw0 + 2 * SW); let p3 = ld4(gm, plane, c0, ih, t.iw0 + 3 * SW);
    let w0 = wt[wi]; let w1 = wt[wi + 8u]; let w2 = wt[wi + 16u]; let w3 = wt[wi + 24u];
    step_wide(&acc, p0, p1, p2, p3, w0, w1, w2, w3);
    plane += 4u * gm.HW; wi += 32u;
  }
  store_wide(&acc, t);
}

// 1x1, stride 1, no padding, the spatial plane seen as one row of XW = H*W pixels (XW % 4 == 0):
// a lane's 4 pixels are one aligned vec4 per channel.
@compute @workgroup_size(8)
fn wide_flat_v4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let C4 = params.C4; let Ci = params.Ci;
  let HW4 = params.XW / 4u;
  var q = (t.plane + t.ow0) / 4u;
  var wi = t.w0 + lane;
  for (var c = 0u; c < C4; c++) {
    let c0 = 4u * c;
    // q_k: channel c0 + k at the 4 pixels (zero past the group's channels)
    let q0 = select(vec4f(0.0), x4[q], c0 < Ci);
    let q1 = select(vec4f(0.0), x4[q + HW4], c0 + 1u < Ci);
    let q2 = select(vec4f(0.0), x4[q + 2u * HW4], c0 + 2u < Ci);
    let q3 = select(vec4f(0.0), x4[q + 3u * HW4], c0 + 3u < Ci);
    let w0 = wt[wi]; let w1 = wt[wi + 8u]; let w2 = wt[wi + 16u]; let w3 = wt[wi + 24u];
    step_wide(&acc, vec4f(q0.x, q1.x, q2.x, q3.x), vec4f(q0.y, q1.y, q2.y, q3.y),
              vec4f(q0.z, q1.z, q2.z, q3.z), vec4f(q0.w, q1.w, q2.w, q3.w), w0, w1, w2, w3);
    q += 4u * HW4; wi += 32u;
  }
  // Pixels come in aligned fours here too: store one vec4 per channel.
  store_wide_px4(&acc, t);
}

// The wide tile's 4 pixels x 32 channels where the pixels lie together in whole vec4s of the output
// rows (the flat and rows entries): one vec4 store per channel.
fn store_wide_px4(acc: ptr<function, array<vec4f, 32>>, t: Tile) {
  let o = out_map(t);
  let ok = t.valid;
  store_px4(o, t.oc, o.pix, ok, (*acc)[0], (*acc)[8], (*acc)[16], (*acc)[24]); store_px4(o, t.oc + 4u, o.pix, ok, (*acc)[1], (*acc)[9], (*acc)[17], (*acc)[25]);
  store_px4(o, t.oc + 8u, o.pix, ok, (*acc)[2], (*acc)[10], (*acc)[18], (*acc)[26]); store_px4(o, t.oc + 12u, o.pix, ok, (*acc)[3], (*acc)[11], (*acc)[19], (*acc)[27]);
  store_px4(o, t.oc + 16u, o.pix, ok, (*acc)[4], (*acc)[12], (*acc)[20], (*acc)[28]); store_px4(o, t.oc + 20u, o.pix, ok, (*acc)[5], (*acc)[13], (*acc)[21], (*acc)[29]);
  store_px4(o, t.oc + 24u, o.pix, ok, (*acc)[6], (*acc)[14], (*acc)[22], (*acc)[30]); store_px4(o, t.oc + 28u, o.pix, ok, (*acc)[7], (*acc)[15], (*acc)[23], (*acc)[31]);
}

// a_i: channels c0..c0+3 of pixel i; stores channel c0 + c at the 4 pixels as one vec4.
fn store_px4(o: Out, c0: u32, pix: u32, ok: bool, a0: vec4f, a1: vec4f, a2: vec4f, a3: vec4f) {
  if (!ok) { return; }
  let Og = params.Og;
  let ch0 = o.plane % (params.G * Og) + c0;
  for (var c = 0u; c < 4u; c++) {
    if (c0 + c < Og) {
      let yi = ((o.plane + c0 + c) * o.chs + pix) / 4u;
      var v = vec4f(a0[c], a1[c], a2[c], a3[c]);
      if (AFFINE == 1u) { v = v * scale[ch0 + c] + shift[ch0 + c]; }
      if (RESIDUAL == 1u) { v += res4[yi]; }
      if (MASK == 1u) { v = select(vec4f(0.0), v, mask4[yi] > vec4f(0.0)); }
      if (ACT == 1u) { v = max(v, vec4f(0.0)); }
      y4[yi] = v;
    }
  }
}

@compute @workgroup_size(8)
fn wide_s1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW; let DH = i32(params.DH);
  let iw = t.iw0;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var p0 = ld4(gm, plane, c0, ih, iw); var p1 = ld4(gm, plane, c0, ih, iw + 1);
      var p2 = ld4(gm, plane, c0, ih, iw + 2); var p3 = ld4(gm, plane, c0, ih, iw + 3);
      for (var kw = 0u; kw < KW; kw++) {
        let w0 = wt[wi]; let w1 = wt[wi + 8u]; let w2 = wt[wi + 16u]; let w3 = wt[wi + 24u];
        step_wide(&acc, p0, p1, p2, p3, w0, w1, w2, w3);
        wi += 32u;
        if (kw + 1u < KW) { p0 = p1; p1 = p2; p2 = p3; p3 = ld4(gm, plane, c0, ih, iw + 4 + i32(kw)); }
      }
      plane += 4u * gm.HW;
    }
  }
  store_wide(&acc, t);
}

// Whether a row's tiles never straddle two workgroups (8 % tiles per row == 0): a lane's left and right
// neighbour pixels are then its neighbour lanes' outer pixels (or padding), passed by a shuffle where a
// vec4 load would bring one float: the kernel ran 1.25x faster (CIFAR's 16-channel 3x3 at batch 250).
override EDGE_SHUFFLE: bool = false;

// The pixels just left and right of a lane's window in one channel row: the last pixel of the vec4
// before q and the first of the vec4 at q_right. With EDGE_SHUFFLE they are the neighbour lanes'
// own outer pixels (last_own of lane - 1, first_own of lane + 1); lane 0 starts a row and lane 7 ends
// one, so what they would read from outside the workgroup is never used. Zero outside the row.
fn edge_pixels(q: u32, q_right: u32, ok: bool, has_l: bool, has_r: bool, last_own: f32, first_own: f32) -> vec2f {
  if (EDGE_SHUFFLE) {
    return vec2f(select(0.0, subgroupShuffleUp(last_own, 1u), has_l), select(0.0, subgroupShuffleDown(first_own, 1u), has_r));
  }
  return vec2f(select(0.0, x4[select(q, q - 1u, has_l)].w, ok && has_l), select(0.0, x4[select(q, q_right, has_r)].x, ok && has_r));
}

// The rows kernels' vec4 index of column col (a multiple of 4) of input row ih in the tile's first
// channel; a row outside the plane is clamped into it (its loads are then masked to zero).
fn row_vec4(t: Tile, ih: i32, col: u32) -> u32 {
  return (t.plane + u32(clamp(ih, 0, i32(params.XH) - 1)) * params.XW + col) / 4u;
}

// The wide tile's twin of mid_s1_rows (below): a lane's 4 pixels are one aligned vec4 per channel row,
// its outer two pixels shuffled from the neighbour lanes (or loaded where rows straddle workgroups).
struct Window6 { l: f32, a: vec4f, r: f32 }

fn window6(q: u32, ok: bool, has_l: bool, has_r: bool) -> Window6 {
  var w: Window6;
  w.a = select(vec4f(0.0), x4[q], ok);
  let e = edge_pixels(q, q + 1u, ok, has_l, has_r, w.a.w, w.a.x);
  w.l = e.x; w.r = e.y;
  return w;
}

@compute @workgroup_size(8)
fn wide_s1_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let C4 = params.C4; let Ci = params.Ci; let KH = params.KH; let DH = i32(params.DH);
  let XH = i32(params.XH);
  let HW4 = params.XH * params.XW / 4u;
  let has_l = t.ow0 > 0u; let has_r = t.ow0 + 4u < params.XW;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    let row_ok = ih >= 0 && ih < XH;
    var q = row_vec4(t, ih, t.ow0);
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      let r0 = window6(q, row_ok && c0 < Ci, has_l, has_r);
      let r1 = window6(q + HW4, row_ok && c0 + 1u < Ci, has_l, has_r);
      let r2 = window6(q + 2u * HW4, row_ok && c0 + 2u < Ci, has_l, has_r);
      let r3 = window6(q + 3u * HW4, row_ok && c0 + 3u < Ci, has_l, has_r);
      let p4 = vec4f(r0.a.w, r1.a.w, r2.a.w, r3.a.w); let p5 = vec4f(r0.r, r1.r, r2.r, r3.r);
      var s0 = vec4f(r0.l, r1.l, r2.l, r3.l); var s1 = vec4f(r0.a.x, r1.a.x, r2.a.x, r3.a.x);
      var s2 = vec4f(r0.a.y, r1.a.y, r2.a.y, r3.a.y); var s3 = vec4f(r0.a.z, r1.a.z, r2.a.z, r3.a.z);
      for (var kw = 0u; kw < 3u; kw++) {
        step_wide(&acc, s0, s1, s2, s3, wt[wi], wt[wi + 8u], wt[wi + 16u], wt[wi + 24u]);
        wi += 32u;
        s0 = s1; s1 = s2; s2 = s3; s3 = select(p5, p4, kw == 0u);
      }
      q += 4u * HW4;
    }
  }
  store_wide_px4(&acc, t);
}

// Pixels 2*ow0-1 .. 2*ow0+7 of one channel row (q: the vec4 holding 2*ow0), zero where ok is false; the
// right edge needs no mask (the output width is whole vec4s, so the last lane's 8 pixels end the row).
struct Window9 { l: f32, a: vec4f, b: vec4f }

fn window9(q: u32, ok: bool, has_l: bool) -> Window9 {
  var w: Window9;
  w.a = select(vec4f(0.0), x4[q], ok);
  w.b = select(vec4f(0.0), x4[q + 1u], ok);
  w.l = edge_pixels(q, q, ok, has_l, false, w.b.w, 0.0).x;
  return w;
}

// Stride 2 along W, 3 taps at padding 1, rows of whole vec4s in and out (input width a multiple of 8):
// a lane's 4 outputs read input pixels 2*ow0-1 .. 2*ow0+7 of each channel row, two aligned vec4s and
// the pixel before them (the previous lane's last, shuffled; loaded where rows straddle workgroups).
// Output i at tap kw reads window pixel 2i + kw: the taps run in a loop that picks the even or odd
// pixels (unrolled, the kernel ran 1.5x slower). In place of patch columns + the flat GEMM where the
// channels are few (conv2d.ts, stride2RowsSuit).
@compute @workgroup_size(8)
fn wide_s2_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let C4 = params.C4; let Ci = params.Ci; let KH = params.KH; let DH = i32(params.DH);
  let XH = i32(params.XH);
  let HW4 = params.XH * params.XW / 4u;
  let has_l = t.ow0 > 0u;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    let row_ok = ih >= 0 && ih < XH;
    var q = row_vec4(t, ih, 2u * t.ow0);
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      let r0 = window9(q, row_ok && c0 < Ci, has_l);
      let r1 = window9(q + HW4, row_ok && c0 + 1u < Ci, has_l);
      let r2 = window9(q + 2u * HW4, row_ok && c0 + 2u < Ci, has_l);
      let r3 = window9(q + 3u * HW4, row_ok && c0 + 3u < Ci, has_l);
      // window pixel j of the 4 channels: 0 = l, 1..4 = a, 5..8 = b
      let p0 = vec4f(r0.l, r1.l, r2.l, r3.l);
      let p1 = vec4f(r0.a.x, r1.a.x, r2.a.x, r3.a.x); let p2 = vec4f(r0.a.y, r1.a.y, r2.a.y, r3.a.y);
      let p3 = vec4f(r0.a.z, r1.a.z, r2.a.z, r3.a.z); let p4 = vec4f(r0.a.w, r1.a.w, r2.a.w, r3.a.w);
      let p5 = vec4f(r0.b.x, r1.b.x, r2.b.x, r3.b.x); let p6 = vec4f(r0.b.y, r1.b.y, r2.b.y, r3.b.y);
      let p7 = vec4f(r0.b.z, r1.b.z, r2.b.z, r3.b.z); let p8 = vec4f(r0.b.w, r1.b.w, r2.b.w, r3.b.w);
      var s0 = p0; var s1 = p2; var s2 = p4; var s3 = p6;
      for (var kw = 0u; kw < 3u; kw++) {
        step_wide(&acc, s0, s1, s2, s3, wt[wi], wt[wi + 8u], wt[wi + 16u], wt[wi + 24u]);
        wi += 32u;
        let odd = kw == 0u;
        s0 = select(p2, p1, odd); s1 = select(p4, p3, odd); s2 = select(p6, p5, odd); s3 = select(p8, p7, odd);
      }
      q += 4u * HW4;
    }
  }
  store_wide_px4(&acc, t);
}

@compute @workgroup_size(8)
fn wide_any(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 4u, 32u);
  var acc: array<vec4f, 32>;
  init_wide(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW;
  let SW = i32(params.SW); let DH = i32(params.DH); let DW = i32(params.DW);
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var iw = t.iw0;
      for (var kw = 0u; kw < KW; kw++) {
        let p0 = ld4(gm, plane, c0, ih, iw); let p1 = ld4(gm, plane, c0, ih, iw + SW);
        let p2 = ld4(gm, plane, c0, ih, iw + 2 * SW); let p3 = ld4(gm, plane, c0, ih, iw + 3 * SW);
        let w0 = wt[wi]; let w1 = wt[wi + 8u]; let w2 = wt[wi + 16u]; let w3 = wt[wi + 24u];
        step_wide(&acc, p0, p1, p2, p3, w0, w1, w2, w3);
        iw += DW; wi += 32u;
      }
      plane += 4u * gm.HW;
    }
  }
  store_wide(&acc, t);
}

// ---------------------------------------------------------------- mid: 8 pixels x 16 channels per lane
// For 9..16 output channels (CIFAR's first stage), where the wide tile would be half padding, and for
// the 3-tap rows up to 64 channels (mid_s1_rows). acc[4 i + j]:
// pixel i, channels 4j..4j+3 of the tile. One k-step is 16 vec4s: lane l loads vec4 l (input channel
// k = l / 4, channel group j = l % 4) into w_lo and vec4 8 + l (k = 2 + l / 4) into w_hi.
fn init_mid(acc: ptr<function, array<vec4f, 32>>, t: Tile, lane: u32) {
  if (HAS_BIAS == 0u) { return; }
  let b0 = load_bias(t, lane); let b1 = load_bias(t, lane + 8u);
  let g0 = vec4f(subgroupBroadcast(b0, 0u), subgroupBroadcast(b0, 1u), subgroupBroadcast(b0, 2u), subgroupBroadcast(b0, 3u));
  let g1 = vec4f(subgroupBroadcast(b0, 4u), subgroupBroadcast(b0, 5u), subgroupBroadcast(b0, 6u), subgroupBroadcast(b0, 7u));
  let g2 = vec4f(subgroupBroadcast(b1, 0u), subgroupBroadcast(b1, 1u), subgroupBroadcast(b1, 2u), subgroupBroadcast(b1, 3u));
  let g3 = vec4f(subgroupBroadcast(b1, 4u), subgroupBroadcast(b1, 5u), subgroupBroadcast(b1, 6u), subgroupBroadcast(b1, 7u));
  (*acc)[0] = g0; (*acc)[1] = g1; (*acc)[2] = g2; (*acc)[3] = g3; (*acc)[4] = g0; (*acc)[5] = g1; (*acc)[6] = g2; (*acc)[7] = g3; (*acc)[8] = g0; (*acc)[9] = g1; (*acc)[10] = g2; (*acc)[11] = g3; (*acc)[12] = g0; (*acc)[13] = g1; (*acc)[14] = g2; (*acc)[15] = g3;
  (*acc)[16] = g0; (*acc)[17] = g1; (*acc)[18] = g2; (*acc)[19] = g3; (*acc)[20] = g0; (*acc)[21] = g1; (*acc)[22] = g2; (*acc)[23] = g3; (*acc)[24] = g0; (*acc)[25] = g1; (*acc)[26] = g2; (*acc)[27] = g3; (*acc)[28] = g0; (*acc)[29] = g1; (*acc)[30] = g2; (*acc)[31] = g3;
}

fn step_mid(acc: ptr<function, array<vec4f, 32>>, p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f,
            p4: vec4f, p5: vec4f, p6: vec4f, p7: vec4f, wlo: vec4f, whi: vec4f) {
  { let b0 = subgroupBroadcast(wlo, 0u); let b1 = subgroupBroadcast(wlo, 4u); let b2 = subgroupBroadcast(whi, 0u); let b3 = subgroupBroadcast(whi, 4u);
    (*acc)[0] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[0]))));
    (*acc)[4] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[4]))));
    (*acc)[8] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[8]))));
    (*acc)[12] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[12]))));
    (*acc)[16] = fma(vec4f(p4.w), b3, fma(vec4f(p4.z), b2, fma(vec4f(p4.y), b1, fma(vec4f(p4.x), b0, (*acc)[16]))));
    (*acc)[20] = fma(vec4f(p5.w), b3, fma(vec4f(p5.z), b2, fma(vec4f(p5.y), b1, fma(vec4f(p5.x), b0, (*acc)[20]))));
    (*acc)[24] = fma(vec4f(p6.w), b3, fma(vec4f(p6.z), b2, fma(vec4f(p6.y), b1, fma(vec4f(p6.x), b0, (*acc)[24]))));
    (*acc)[28] = fma(vec4f(p7.w), b3, fma(vec4f(p7.z), b2, fma(vec4f(p7.y), b1, fma(vec4f(p7.x), b0, (*acc)[28]))));
  }
  { let b0 = subgroupBroadcast(wlo, 1u); let b1 = subgroupBroadcast(wlo, 5u); let b2 = subgroupBroadcast(whi, 1u); let b3 = subgroupBroadcast(whi, 5u);
    (*acc)[1] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[1]))));
    (*acc)[5] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[5]))));
    (*acc)[9] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[9]))));
    (*acc)[13] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[13]))));
    (*acc)[17] = fma(vec4f(p4.w), b3, fma(vec4f(p4.z), b2, fma(vec4f(p4.y), b1, fma(vec4f(p4.x), b0, (*acc)[17]))));
    (*acc)[21] = fma(vec4f(p5.w), b3, fma(vec4f(p5.z), b2, fma(vec4f(p5.y), b1, fma(vec4f(p5.x), b0, (*acc)[21]))));
    (*acc)[25] = fma(vec4f(p6.w), b3, fma(vec4f(p6.z), b2, fma(vec4f(p6.y), b1, fma(vec4f(p6.x), b0, (*acc)[25]))));
    (*acc)[29] = fma(vec4f(p7.w), b3, fma(vec4f(p7.z), b2, fma(vec4f(p7.y), b1, fma(vec4f(p7.x), b0, (*acc)[29]))));
  }
  { let b0 = subgroupBroadcast(wlo, 2u); let b1 = subgroupBroadcast(wlo, 6u); let b2 = subgroupBroadcast(whi, 2u); let b3 = subgroupBroadcast(whi, 6u);
    (*acc)[2] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[2]))));
    (*acc)[6] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[6]))));
    (*acc)[10] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[10]))));
    (*acc)[14] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[14]))));
    (*acc)[18] = fma(vec4f(p4.w), b3, fma(vec4f(p4.z), b2, fma(vec4f(p4.y), b1, fma(vec4f(p4.x), b0, (*acc)[18]))));
    (*acc)[22] = fma(vec4f(p5.w), b3, fma(vec4f(p5.z), b2, fma(vec4f(p5.y), b1, fma(vec4f(p5.x), b0, (*acc)[22]))));
    (*acc)[26] = fma(vec4f(p6.w), b3, fma(vec4f(p6.z), b2, fma(vec4f(p6.y), b1, fma(vec4f(p6.x), b0, (*acc)[26]))));
    (*acc)[30] = fma(vec4f(p7.w), b3, fma(vec4f(p7.z), b2, fma(vec4f(p7.y), b1, fma(vec4f(p7.x), b0, (*acc)[30]))));
  }
  { let b0 = subgroupBroadcast(wlo, 3u); let b1 = subgroupBroadcast(wlo, 7u); let b2 = subgroupBroadcast(whi, 3u); let b3 = subgroupBroadcast(whi, 7u);
    (*acc)[3] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[3]))));
    (*acc)[7] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[7]))));
    (*acc)[11] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[11]))));
    (*acc)[15] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[15]))));
    (*acc)[19] = fma(vec4f(p4.w), b3, fma(vec4f(p4.z), b2, fma(vec4f(p4.y), b1, fma(vec4f(p4.x), b0, (*acc)[19]))));
    (*acc)[23] = fma(vec4f(p5.w), b3, fma(vec4f(p5.z), b2, fma(vec4f(p5.y), b1, fma(vec4f(p5.x), b0, (*acc)[23]))));
    (*acc)[27] = fma(vec4f(p6.w), b3, fma(vec4f(p6.z), b2, fma(vec4f(p6.y), b1, fma(vec4f(p6.x), b0, (*acc)[27]))));
    (*acc)[31] = fma(vec4f(p7.w), b3, fma(vec4f(p7.z), b2, fma(vec4f(p7.y), b1, fma(vec4f(p7.x), b0, (*acc)[31]))));
  }
}

fn store_mid(acc: ptr<function, array<vec4f, 32>>, t: Tile) {
  let o = out_map(t);
  for (var i = 0u; i < 8u; i++) {
    let pix = o.pix + i * params.YSW; let ok = t.valid && t.ow0 + i < params.Wo;
    put4((*acc)[4u * i], o, t.oc, pix, ok); put4((*acc)[4u * i + 1u], o, t.oc + 4u, pix, ok);
    put4((*acc)[4u * i + 2u], o, t.oc + 8u, pix, ok); put4((*acc)[4u * i + 3u], o, t.oc + 12u, pix, ok);
  }
}

@compute @workgroup_size(8)
fn mid_1x1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 16u);
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4;
  let SW = i32(params.SW);
  let ih = t.ih0;
  var plane = t.plane;
  var wi = t.w0 + lane;
  for (var c = 0u; c < C4; c++) {
    let c0 = 4u * c;
    let p0 = ld4(gm, plane, c0, ih, t.iw0); let p1 = ld4(gm, plane, c0, ih, t.iw0 + SW);
    let p2 = ld4(gm, plane, c0, ih, t.iw0 + 2 * SW); let p3 = ld4(gm, plane, c0, ih, t.iw0 + 3 * SW);
    let p4 = ld4(gm, plane, c0, ih, t.iw0 + 4 * SW); let p5 = ld4(gm, plane, c0, ih, t.iw0 + 5 * SW);
    let p6 = ld4(gm, plane, c0, ih, t.iw0 + 6 * SW); let p7 = ld4(gm, plane, c0, ih, t.iw0 + 7 * SW);
    step_mid(&acc, p0, p1, p2, p3, p4, p5, p6, p7, wt[wi], wt[wi + 8u]);
    plane += 4u * gm.HW; wi += 16u;
  }
  store_mid(&acc, t);
}

// 1x1, stride 1, no padding, the plane as one row of XW = H*W pixels (XW % 4 == 0): a lane's 8 pixels
// are two aligned vec4s per channel.
@compute @workgroup_size(8)
fn mid_flat_v4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 16u);
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let C4 = params.C4; let Ci = params.Ci;
  let HW4 = params.XW / 4u;
  var q = (t.plane + t.ow0) / 4u;
  var wi = t.w0 + lane;
  for (var c = 0u; c < C4; c++) {
    let c0 = 4u * c;
    // qk_v: channel c0 + k at pixels 4v..4v+3 of the lane (zero past the group's channels)
    let q0_0 = select(vec4f(0.0), x4[q], c0 < Ci); let q0_1 = select(vec4f(0.0), x4[q + 1u], c0 < Ci);
    let q1_0 = select(vec4f(0.0), x4[q + HW4], c0 + 1u < Ci); let q1_1 = select(vec4f(0.0), x4[q + HW4 + 1u], c0 + 1u < Ci);
    let q2_0 = select(vec4f(0.0), x4[q + 2u * HW4], c0 + 2u < Ci); let q2_1 = select(vec4f(0.0), x4[q + 2u * HW4 + 1u], c0 + 2u < Ci);
    let q3_0 = select(vec4f(0.0), x4[q + 3u * HW4], c0 + 3u < Ci); let q3_1 = select(vec4f(0.0), x4[q + 3u * HW4 + 1u], c0 + 3u < Ci);
    step_mid(&acc, vec4f(q0_0.x, q1_0.x, q2_0.x, q3_0.x), vec4f(q0_0.y, q1_0.y, q2_0.y, q3_0.y),
             vec4f(q0_0.z, q1_0.z, q2_0.z, q3_0.z), vec4f(q0_0.w, q1_0.w, q2_0.w, q3_0.w),
             vec4f(q0_1.x, q1_1.x, q2_1.x, q3_1.x), vec4f(q0_1.y, q1_1.y, q2_1.y, q3_1.y),
             vec4f(q0_1.z, q1_1.z, q2_1.z, q3_1.z), vec4f(q0_1.w, q1_1.w, q2_1.w, q3_1.w), wt[wi], wt[wi + 8u]);
    q += 4u * HW4; wi += 16u;
  }
  let o = out_map(t);
  let ok0 = t.valid; let ok1 = t.valid && t.ow0 + 4u < params.Wo;
  for (var j = 0u; j < 4u; j++) {
    store_px4(o, t.oc + 4u * j, o.pix, ok0, acc[j], acc[4u + j], acc[8u + j], acc[12u + j]);
    store_px4(o, t.oc + 4u * j, o.pix + 4u, ok1, acc[16u + j], acc[20u + j], acc[24u + j], acc[28u + j]);
  }
}

@compute @workgroup_size(8)
fn mid_s1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 16u);
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW; let DH = i32(params.DH);
  let iw = t.iw0;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var p0 = ld4(gm, plane, c0, ih, iw); var p1 = ld4(gm, plane, c0, ih, iw + 1);
      var p2 = ld4(gm, plane, c0, ih, iw + 2); var p3 = ld4(gm, plane, c0, ih, iw + 3);
      var p4 = ld4(gm, plane, c0, ih, iw + 4); var p5 = ld4(gm, plane, c0, ih, iw + 5);
      var p6 = ld4(gm, plane, c0, ih, iw + 6); var p7 = ld4(gm, plane, c0, ih, iw + 7);
      for (var kw = 0u; kw < KW; kw++) {
        step_mid(&acc, p0, p1, p2, p3, p4, p5, p6, p7, wt[wi], wt[wi + 8u]);
        wi += 16u;
        if (kw + 1u < KW) {
          p0 = p1; p1 = p2; p2 = p3; p3 = p4; p4 = p5; p5 = p6; p6 = p7;
          p7 = ld4(gm, plane, c0, ih, iw + 8 + i32(kw));
        }
      }
      plane += 4u * gm.HW;
    }
  }
  store_mid(&acc, t);
}

// Three taps along W at padding 1, stride and dilation 1 along W, on planes whose width is whole
// vec4s: the lane's 8 pixels start on a vec4, so its 10-pixel window of one channel row is 4 aligned
// vec4 loads (the outer two give one pixel each) where mid_s1 gathers 10 pixels x 4 channels, and
// its outputs are stored as vec4s of 4 pixels. A vec4 load costs about 1.6 scalar ones on lavapipe
// (docs/adapter.md): CIFAR's 16-channel 3x3 convs at batch 250 ran 1.37x faster than through mid_s1.
struct Window10 { l: f32, a: vec4f, b: vec4f, r: f32 }


// Pixels ow0-1 .. ow0+8 of one channel row (q: the vec4 holding ow0); zero where ok is false (a padding
// row or a channel past the group's) and for pixels outside the row (left of 0, right of the width).
fn window10(q: u32, ok: bool, has_l: bool, has_b: bool, has_r: bool) -> Window10 {
  var w: Window10;
  w.a = select(vec4f(0.0), x4[q], ok);
  w.b = select(vec4f(0.0), x4[select(q, q + 1u, has_b)], ok && has_b);
  let e = edge_pixels(q, q + 2u, ok, has_l, has_r, w.b.w, w.a.x);
  w.l = e.x; w.r = e.y;
  return w;
}

// The 10-pixel windows of channels c0..c0+3 (q: the vec4 holding the tile's first pixel in channel c0),
// as pixel j of the window = channels c0..c0+3 (zero past the group's channels or outside the rows).
struct Px10 { p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f, p4: vec4f, p5: vec4f, p6: vec4f, p7: vec4f, p8: vec4f, p9: vec4f }

fn quad_window10(q: u32, HW4: u32, c0: u32, row_ok: bool, has_l: bool, has_b: bool, has_r: bool) -> Px10 {
  let Ci = params.Ci;
  let r0 = window10(q, row_ok && c0 < Ci, has_l, has_b, has_r);
  let r1 = window10(q + HW4, row_ok && c0 + 1u < Ci, has_l, has_b, has_r);
  let r2 = window10(q + 2u * HW4, row_ok && c0 + 2u < Ci, has_l, has_b, has_r);
  let r3 = window10(q + 3u * HW4, row_ok && c0 + 3u < Ci, has_l, has_b, has_r);
  return Px10(vec4f(r0.l, r1.l, r2.l, r3.l),
              vec4f(r0.a.x, r1.a.x, r2.a.x, r3.a.x), vec4f(r0.a.y, r1.a.y, r2.a.y, r3.a.y),
              vec4f(r0.a.z, r1.a.z, r2.a.z, r3.a.z), vec4f(r0.a.w, r1.a.w, r2.a.w, r3.a.w),
              vec4f(r0.b.x, r1.b.x, r2.b.x, r3.b.x), vec4f(r0.b.y, r1.b.y, r2.b.y, r3.b.y),
              vec4f(r0.b.z, r1.b.z, r2.b.z, r3.b.z), vec4f(r0.b.w, r1.b.w, r2.b.w, r3.b.w),
              vec4f(r0.r, r1.r, r2.r, r3.r));
}

// The 10-pixel windows of channels c0, c0 + 1 as pixel j of the window = (channel c0, channel c0 + 1).
struct Px10x2 { p0: vec2f, p1: vec2f, p2: vec2f, p3: vec2f, p4: vec2f, p5: vec2f, p6: vec2f, p7: vec2f, p8: vec2f, p9: vec2f }

fn pair_window10(q: u32, HW4: u32, c0: u32, row_ok: bool, has_l: bool, has_b: bool, has_r: bool) -> Px10x2 {
  let Ci = params.Ci;
  let r0 = window10(q, row_ok && c0 < Ci, has_l, has_b, has_r);
  let r1 = window10(q + HW4, row_ok && c0 + 1u < Ci, has_l, has_b, has_r);
  return Px10x2(vec2f(r0.l, r1.l), vec2f(r0.a.x, r1.a.x), vec2f(r0.a.y, r1.a.y), vec2f(r0.a.z, r1.a.z), vec2f(r0.a.w, r1.a.w),
                vec2f(r0.b.x, r1.b.x), vec2f(r0.b.y, r1.b.y), vec2f(r0.b.z, r1.b.z), vec2f(r0.b.w, r1.b.w), vec2f(r0.r, r1.r));
}

// Two input channels (k, k + 1 of a k-step) x the three taps: w_t is the k-step's w_lo (k = 0, 1) or
// w_hi (k = 2, 3) of tap t, so lane j + 4k' holds channel k + k' for output channels 4j..4j+3.
// acc[4 i + j] takes the 6 terms of output pixel i (window pixels i, i + 1, i + 2) in one chain.
// The updates go one output channel at a time (16 per step), each channel's 6 broadcast floats made
// just before its 8 accumulators: lavapipe keeps every lane's vec4 as four registers, so a quad's 6
// broadcast vec4s were 24 registers beside the window's 20 and got spilled and reloaded per use, while
// 6 floats fit beside the window. Against the quad-by-quad order (itself 1.02-1.03x faster on RISE than
// making all 24 broadcasts first): CIFAR's 16-channel 3x3 alone at batch 250 1.03-1.10x faster, 32
// channels 1.02-1.11x, RISE on the CIFAR ResNet-20 1.01-1.02x (its mid_s1_rows dispatches 1.01-1.02x),
// the loop 150 fewer stack moves per step; the sums are the same, term for term.
fn step_mid_pair(acc: ptr<function, array<vec4f, 32>>, w: Px10x2, w0: vec4f, w1: vec4f, w2: vec4f) {
  comp_mid_pair(acc, 0u, 0u, w, subgroupBroadcast(w0[0u], 0u), subgroupBroadcast(w0[0u], 4u), subgroupBroadcast(w1[0u], 0u), subgroupBroadcast(w1[0u], 4u), subgroupBroadcast(w2[0u], 0u), subgroupBroadcast(w2[0u], 4u));
  comp_mid_pair(acc, 0u, 1u, w, subgroupBroadcast(w0[1u], 0u), subgroupBroadcast(w0[1u], 4u), subgroupBroadcast(w1[1u], 0u), subgroupBroadcast(w1[1u], 4u), subgroupBroadcast(w2[1u], 0u), subgroupBroadcast(w2[1u], 4u));
  comp_mid_pair(acc, 0u, 2u, w, subgroupBroadcast(w0[2u], 0u), subgroupBroadcast(w0[2u], 4u), subgroupBroadcast(w1[2u], 0u), subgroupBroadcast(w1[2u], 4u), subgroupBroadcast(w2[2u], 0u), subgroupBroadcast(w2[2u], 4u));
  comp_mid_pair(acc, 0u, 3u, w, subgroupBroadcast(w0[3u], 0u), subgroupBroadcast(w0[3u], 4u), subgroupBroadcast(w1[3u], 0u), subgroupBroadcast(w1[3u], 4u), subgroupBroadcast(w2[3u], 0u), subgroupBroadcast(w2[3u], 4u));
  comp_mid_pair(acc, 1u, 0u, w, subgroupBroadcast(w0[0u], 1u), subgroupBroadcast(w0[0u], 5u), subgroupBroadcast(w1[0u], 1u), subgroupBroadcast(w1[0u], 5u), subgroupBroadcast(w2[0u], 1u), subgroupBroadcast(w2[0u], 5u));
  comp_mid_pair(acc, 1u, 1u, w, subgroupBroadcast(w0[1u], 1u), subgroupBroadcast(w0[1u], 5u), subgroupBroadcast(w1[1u], 1u), subgroupBroadcast(w1[1u], 5u), subgroupBroadcast(w2[1u], 1u), subgroupBroadcast(w2[1u], 5u));
  comp_mid_pair(acc, 1u, 2u, w, subgroupBroadcast(w0[2u], 1u), subgroupBroadcast(w0[2u], 5u), subgroupBroadcast(w1[2u], 1u), subgroupBroadcast(w1[2u], 5u), subgroupBroadcast(w2[2u], 1u), subgroupBroadcast(w2[2u], 5u));
  comp_mid_pair(acc, 1u, 3u, w, subgroupBroadcast(w0[3u], 1u), subgroupBroadcast(w0[3u], 5u), subgroupBroadcast(w1[3u], 1u), subgroupBroadcast(w1[3u], 5u), subgroupBroadcast(w2[3u], 1u), subgroupBroadcast(w2[3u], 5u));
  comp_mid_pair(acc, 2u, 0u, w, subgroupBroadcast(w0[0u], 2u), subgroupBroadcast(w0[0u], 6u), subgroupBroadcast(w1[0u], 2u), subgroupBroadcast(w1[0u], 6u), subgroupBroadcast(w2[0u], 2u), subgroupBroadcast(w2[0u], 6u));
  comp_mid_pair(acc, 2u, 1u, w, subgroupBroadcast(w0[1u], 2u), subgroupBroadcast(w0[1u], 6u), subgroupBroadcast(w1[1u], 2u), subgroupBroadcast(w1[1u], 6u), subgroupBroadcast(w2[1u], 2u), subgroupBroadcast(w2[1u], 6u));
  comp_mid_pair(acc, 2u, 2u, w, subgroupBroadcast(w0[2u], 2u), subgroupBroadcast(w0[2u], 6u), subgroupBroadcast(w1[2u], 2u), subgroupBroadcast(w1[2u], 6u), subgroupBroadcast(w2[2u], 2u), subgroupBroadcast(w2[2u], 6u));
  comp_mid_pair(acc, 2u, 3u, w, subgroupBroadcast(w0[3u], 2u), subgroupBroadcast(w0[3u], 6u), subgroupBroadcast(w1[3u], 2u), subgroupBroadcast(w1[3u], 6u), subgroupBroadcast(w2[3u], 2u), subgroupBroadcast(w2[3u], 6u));
  comp_mid_pair(acc, 3u, 0u, w, subgroupBroadcast(w0[0u], 3u), subgroupBroadcast(w0[0u], 7u), subgroupBroadcast(w1[0u], 3u), subgroupBroadcast(w1[0u], 7u), subgroupBroadcast(w2[0u], 3u), subgroupBroadcast(w2[0u], 7u));
  comp_mid_pair(acc, 3u, 1u, w, subgroupBroadcast(w0[1u], 3u), subgroupBroadcast(w0[1u], 7u), subgroupBroadcast(w1[1u], 3u), subgroupBroadcast(w1[1u], 7u), subgroupBroadcast(w2[1u], 3u), subgroupBroadcast(w2[1u], 7u));
  comp_mid_pair(acc, 3u, 2u, w, subgroupBroadcast(w0[2u], 3u), subgroupBroadcast(w0[2u], 7u), subgroupBroadcast(w1[2u], 3u), subgroupBroadcast(w1[2u], 7u), subgroupBroadcast(w2[2u], 3u), subgroupBroadcast(w2[2u], 7u));
  comp_mid_pair(acc, 3u, 3u, w, subgroupBroadcast(w0[3u], 3u), subgroupBroadcast(w0[3u], 7u), subgroupBroadcast(w1[3u], 3u), subgroupBroadcast(w1[3u], 7u), subgroupBroadcast(w2[3u], 3u), subgroupBroadcast(w2[3u], 7u));
}

// Output channel 4j + c of the tile's 8 accumulators; b_tk: its weight of tap t for channel k of the
// pair. Called with literal j and c, so every accumulator index is a constant once inlined.
fn comp_mid_pair(acc: ptr<function, array<vec4f, 32>>, j: u32, c: u32, w: Px10x2, b00: f32, b01: f32, b10: f32, b11: f32, b20: f32, b21: f32) {
  (*acc)[j][c] = tap2s(tap2s(tap2s((*acc)[j][c], w.p0, b00, b01), w.p1, b10, b11), w.p2, b20, b21);
  (*acc)[4u + j][c] = tap2s(tap2s(tap2s((*acc)[4u + j][c], w.p1, b00, b01), w.p2, b10, b11), w.p3, b20, b21);
  (*acc)[8u + j][c] = tap2s(tap2s(tap2s((*acc)[8u + j][c], w.p2, b00, b01), w.p3, b10, b11), w.p4, b20, b21);
  (*acc)[12u + j][c] = tap2s(tap2s(tap2s((*acc)[12u + j][c], w.p3, b00, b01), w.p4, b10, b11), w.p5, b20, b21);
  (*acc)[16u + j][c] = tap2s(tap2s(tap2s((*acc)[16u + j][c], w.p4, b00, b01), w.p5, b10, b11), w.p6, b20, b21);
  (*acc)[20u + j][c] = tap2s(tap2s(tap2s((*acc)[20u + j][c], w.p5, b00, b01), w.p6, b10, b11), w.p7, b20, b21);
  (*acc)[24u + j][c] = tap2s(tap2s(tap2s((*acc)[24u + j][c], w.p6, b00, b01), w.p7, b10, b11), w.p8, b20, b21);
  (*acc)[28u + j][c] = tap2s(tap2s(tap2s((*acc)[28u + j][c], w.p7, b00, b01), w.p8, b10, b11), w.p9, b20, b21);
}

// a + p.x * b0 + p.y * b1: one tap of two input channels for one output channel.
fn tap2s(a: f32, p: vec2f, b0: f32, b1: f32) -> f32 {
  return fma(p.y, b1, fma(p.x, b0, a));
}

// REPS > 1: the workgroup runs REPS consecutive 8-tile groups in turn, loading the weights for the first
// and reading them from `wc` (this invocation's stack) for the rest: cheaper than the storage load,
// which bounds-checks every lane (at a computed index a stack read is no single vector move either:
// 24 of them per step cost more than 24 broadcasts, docs/adapter.md). The host sets it where the weights fit (KH * 2 * C4 * 3 vec4s
// <= MID_WEIGHT_CACHE, which it reads from here) and enough workgroups remain (src/kernels/conv2d-gemm.ts).
override REPS: u32 = 1;
const MID_WEIGHT_CACHE: u32 = 144u;

@compute @workgroup_size(8)
fn mid_s1_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  var wc: array<vec4f, MID_WEIGHT_CACHE>;
  // Without the loop for one group: lavapipe then compiles the entry in 1.0-1.1 s, as before the cache,
  // against 1.7-1.8 s with it (cold shader cache, December 2026).
  if (REPS == 1u) {
    mid_s1_rows_tile(tile_of(wid, nwg, lane, 8u, 16u), lane, 0u, &wc);
    return;
  }
  let g = group_of(wid, nwg);
  for (var rep = 0u; rep < REPS; rep++) {
    mid_s1_rows_tile(tile_at(g.x * REPS + rep, g.y, lane, 8u, 16u), lane, rep, &wc);
  }
}

fn mid_s1_rows_tile(t: Tile, lane: u32, rep: u32, wc: ptr<function, array<vec4f, MID_WEIGHT_CACHE>>) {
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let C4 = params.C4; let KH = params.KH; let DH = i32(params.DH);
  let XH = i32(params.XH);
  let HW4 = params.XH * params.XW / 4u;
  let has_l = t.ow0 > 0u; let has_b = t.ow0 + 4u < params.XW; let has_r = t.ow0 + 8u < params.XW;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    let row_ok = ih >= 0 && ih < XH;
    var q = row_vec4(t, ih, t.ow0);
    // Two input channels per step with the three taps written out (a 6-term chain per accumulator):
    // the accumulators are read, written and masked once per 6 multiply-adds instead of once per 4, and
    // the window no longer slides. The 16-channel CIFAR layer at batch 250 ran 1.09x faster than with
    // four channels a step and a loop over the taps, while four channels with the taps written out (12
    // terms) ran 1.1x slower than that loop, in fewer instructions per multiply-add: its body is about
    // 4,100 instructions (28 KB) against 2,300 here, likely past what the CPU keeps decoded (docs/adapter.md).
    for (var cp = 0u; cp < 2u * C4; cp++) {
      let w = pair_window10(q, HW4, 2u * cp, row_ok, has_l, has_b, has_r);
      let n = 3u * (kh * 2u * C4 + cp);
      var w0: vec4f; var w1: vec4f; var w2: vec4f;
      if (rep == 0u) {
        let k = wi + 48u * (cp / 2u) + 8u * (cp % 2u);
        w0 = wt[k]; w1 = wt[k + 16u]; w2 = wt[k + 32u];
        if (REPS > 1u) { (*wc)[n] = w0; (*wc)[n + 1u] = w1; (*wc)[n + 2u] = w2; }
      } else {
        w0 = (*wc)[n]; w1 = (*wc)[n + 1u]; w2 = (*wc)[n + 2u];
      }
      step_mid_pair(&acc, w, w0, w1, w2);
      q += 2u * HW4;
    }
    wi += 48u * C4;
  }
  let o = out_map(t);
  let ok0 = t.valid; let ok1 = t.valid && t.ow0 + 4u < params.Wo;
  for (var j = 0u; j < 4u; j++) {
    store_px4(o, t.oc + 4u * j, o.pix, ok0, acc[j], acc[4u + j], acc[8u + j], acc[12u + j]);
    store_px4(o, t.oc + 4u * j, o.pix + 4u, ok1, acc[16u + j], acc[20u + j], acc[24u + j], acc[28u + j]);
  }
}

// Backward to the input of a stride-2 3x3 conv at padding 1 along W, one row phase of dx per dispatch
// (the rows of dx whose taps along H are the same), on the mid tile: a lane's 8 dx pixels x0..x0+7 (x0 a
// multiple of 8) read dy columns j0 = x0 / 2 .. j0 + 4 of each channel row, one aligned vec4 and the pixel
// after it (shuffled from the next lane where rows do not straddle workgroups). Even pixels x0 + 2m take
// kernel tap 1 of dy[j0 + m]; odd ones taps 2 and 0 of dy[j0 + m] and dy[j0 + m + 1]: 12 pixel-taps per
// channel row where patch columns + col2im formed all 9 taps' columns and summed them. The weights are
// packed as for a stride-1 conv whose kernel is flipped along W (GEMM tap q = kernel tap 2 - q).
// The mid step for the even pixels (0, 2, 4, 6; half 0) or the odd ones (1, 3, 5, 7; half 1) of the tile,
// p0..p3 in order. Called with a literal half, so every accumulator index is a constant once inlined.
fn step_mid_half(acc: ptr<function, array<vec4f, 32>>, half: u32, p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f, wlo: vec4f, whi: vec4f) {
  let h = 4u * half;
  { let b0 = subgroupBroadcast(wlo, 0u); let b1 = subgroupBroadcast(wlo, 4u); let b2 = subgroupBroadcast(whi, 0u); let b3 = subgroupBroadcast(whi, 4u);
    (*acc)[h + 0u] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[h + 0u]))));
    (*acc)[h + 8u] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[h + 8u]))));
    (*acc)[h + 16u] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[h + 16u]))));
    (*acc)[h + 24u] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[h + 24u]))));
  }
  { let b0 = subgroupBroadcast(wlo, 1u); let b1 = subgroupBroadcast(wlo, 5u); let b2 = subgroupBroadcast(whi, 1u); let b3 = subgroupBroadcast(whi, 5u);
    (*acc)[h + 1u] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[h + 1u]))));
    (*acc)[h + 9u] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[h + 9u]))));
    (*acc)[h + 17u] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[h + 17u]))));
    (*acc)[h + 25u] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[h + 25u]))));
  }
  { let b0 = subgroupBroadcast(wlo, 2u); let b1 = subgroupBroadcast(wlo, 6u); let b2 = subgroupBroadcast(whi, 2u); let b3 = subgroupBroadcast(whi, 6u);
    (*acc)[h + 2u] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[h + 2u]))));
    (*acc)[h + 10u] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[h + 10u]))));
    (*acc)[h + 18u] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[h + 18u]))));
    (*acc)[h + 26u] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[h + 26u]))));
  }
  { let b0 = subgroupBroadcast(wlo, 3u); let b1 = subgroupBroadcast(wlo, 7u); let b2 = subgroupBroadcast(whi, 3u); let b3 = subgroupBroadcast(whi, 7u);
    (*acc)[h + 3u] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[h + 3u]))));
    (*acc)[h + 11u] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[h + 11u]))));
    (*acc)[h + 19u] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[h + 19u]))));
    (*acc)[h + 27u] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[h + 27u]))));
  }
}

@compute @workgroup_size(8)
fn mid_t2_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 16u);
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let C4 = params.C4; let Ci = params.Ci; let KH = params.KH; let DH = i32(params.DH);
  let XH = i32(params.XH);
  let HW4 = params.XH * params.XW / 4u;
  let j0 = t.ow0 / 2u;
  let has_r = j0 + 4u < params.XW;
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    let row_ok = ih >= 0 && ih < XH;
    var q = row_vec4(t, ih, j0);
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      let r0 = window6(q, row_ok && c0 < Ci, false, has_r);
      let r1 = window6(q + HW4, row_ok && c0 + 1u < Ci, false, has_r);
      let r2 = window6(q + 2u * HW4, row_ok && c0 + 2u < Ci, false, has_r);
      let r3 = window6(q + 3u * HW4, row_ok && c0 + 3u < Ci, false, has_r);
      // dy[j0 + m], channels c0..c0+3
      let d0 = vec4f(r0.a.x, r1.a.x, r2.a.x, r3.a.x); let d1 = vec4f(r0.a.y, r1.a.y, r2.a.y, r3.a.y);
      let d2 = vec4f(r0.a.z, r1.a.z, r2.a.z, r3.a.z); let d3 = vec4f(r0.a.w, r1.a.w, r2.a.w, r3.a.w);
      let d4 = vec4f(r0.r, r1.r, r2.r, r3.r);
      step_mid_half(&acc, 1u, d0, d1, d2, d3, wt[wi], wt[wi + 8u]);          // kernel tap 2
      step_mid_half(&acc, 0u, d0, d1, d2, d3, wt[wi + 16u], wt[wi + 24u]);  // kernel tap 1
      step_mid_half(&acc, 1u, d1, d2, d3, d4, wt[wi + 32u], wt[wi + 40u]);  // kernel tap 0
      wi += 48u; q += 4u * HW4;
    }
  }
  // dx rows are whole tiles (their width a multiple of 8): both halves of a valid tile are stored.
  let o = out_map(t);
  for (var j = 0u; j < 4u; j++) {
    store_px4(o, t.oc + 4u * j, o.pix, t.valid, acc[j], acc[4u + j], acc[8u + j], acc[12u + j]);
    store_px4(o, t.oc + 4u * j, o.pix + 4u, t.valid, acc[16u + j], acc[20u + j], acc[24u + j], acc[28u + j]);
  }
}

@compute @workgroup_size(8)
fn mid_any(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 16u);
  var acc: array<vec4f, 32>;
  init_mid(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW;
  let SW = i32(params.SW); let DH = i32(params.DH); let DW = i32(params.DW);
  var wi = t.w0 + lane;
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var iw = t.iw0;
      for (var kw = 0u; kw < KW; kw++) {
        let p0 = ld4(gm, plane, c0, ih, iw); let p1 = ld4(gm, plane, c0, ih, iw + SW);
        let p2 = ld4(gm, plane, c0, ih, iw + 2 * SW); let p3 = ld4(gm, plane, c0, ih, iw + 3 * SW);
        let p4 = ld4(gm, plane, c0, ih, iw + 4 * SW); let p5 = ld4(gm, plane, c0, ih, iw + 5 * SW);
        let p6 = ld4(gm, plane, c0, ih, iw + 6 * SW); let p7 = ld4(gm, plane, c0, ih, iw + 7 * SW);
        step_mid(&acc, p0, p1, p2, p3, p4, p5, p6, p7, wt[wi], wt[wi + 8u]);
        iw += DW; wi += 16u;
      }
      plane += 4u * gm.HW;
    }
  }
  store_mid(&acc, t);
}

// ---------------------------------------------------------------- narrow: 8 pixels x 4 channels per lane
// acc[i]: pixel i, the tile's 4 channels. One k-step is 4 vec4s (input channel k -> 4 outputs);
// lanes 4..7 load duplicates of lanes 0..3 rather than idle.
fn step_narrow(acc: ptr<function, array<vec4f, 8>>, p0: vec4f, p1: vec4f, p2: vec4f, p3: vec4f,
               p4: vec4f, p5: vec4f, p6: vec4f, p7: vec4f, w: vec4f) {
  let b0 = subgroupBroadcast(w, 0u); let b1 = subgroupBroadcast(w, 1u); let b2 = subgroupBroadcast(w, 2u); let b3 = subgroupBroadcast(w, 3u);
  (*acc)[0] = fma(vec4f(p0.w), b3, fma(vec4f(p0.z), b2, fma(vec4f(p0.y), b1, fma(vec4f(p0.x), b0, (*acc)[0]))));
  (*acc)[1] = fma(vec4f(p1.w), b3, fma(vec4f(p1.z), b2, fma(vec4f(p1.y), b1, fma(vec4f(p1.x), b0, (*acc)[1]))));
  (*acc)[2] = fma(vec4f(p2.w), b3, fma(vec4f(p2.z), b2, fma(vec4f(p2.y), b1, fma(vec4f(p2.x), b0, (*acc)[2]))));
  (*acc)[3] = fma(vec4f(p3.w), b3, fma(vec4f(p3.z), b2, fma(vec4f(p3.y), b1, fma(vec4f(p3.x), b0, (*acc)[3]))));
  (*acc)[4] = fma(vec4f(p4.w), b3, fma(vec4f(p4.z), b2, fma(vec4f(p4.y), b1, fma(vec4f(p4.x), b0, (*acc)[4]))));
  (*acc)[5] = fma(vec4f(p5.w), b3, fma(vec4f(p5.z), b2, fma(vec4f(p5.y), b1, fma(vec4f(p5.x), b0, (*acc)[5]))));
  (*acc)[6] = fma(vec4f(p6.w), b3, fma(vec4f(p6.z), b2, fma(vec4f(p6.y), b1, fma(vec4f(p6.x), b0, (*acc)[6]))));
  (*acc)[7] = fma(vec4f(p7.w), b3, fma(vec4f(p7.z), b2, fma(vec4f(p7.y), b1, fma(vec4f(p7.x), b0, (*acc)[7]))));
}


fn init_narrow(acc: ptr<function, array<vec4f, 8>>, t: Tile, lane: u32) {
  if (HAS_BIAS == 0u) { return; }
  let b = load_bias(t, lane & 3u);
  let v = vec4f(subgroupBroadcast(b, 0u), subgroupBroadcast(b, 1u), subgroupBroadcast(b, 2u), subgroupBroadcast(b, 3u));
  for (var i = 0u; i < 8u; i++) { (*acc)[i] = v; }
}

fn store_narrow(acc: ptr<function, array<vec4f, 8>>, t: Tile) {
  let o = out_map(t);
  for (var i = 0u; i < 8u; i++) {
    put4((*acc)[i], o, t.oc, o.pix + i * params.YSW, t.valid && t.ow0 + i < params.Wo);
  }
}

@compute @workgroup_size(8)
fn narrow_s1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 4u);
  var acc: array<vec4f, 8>;
  init_narrow(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW; let DH = i32(params.DH);
  let iw = t.iw0;
  var wi = t.w0 + (lane & 3u);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var p0 = ld4(gm, plane, c0, ih, iw); var p1 = ld4(gm, plane, c0, ih, iw + 1);
      var p2 = ld4(gm, plane, c0, ih, iw + 2); var p3 = ld4(gm, plane, c0, ih, iw + 3);
      var p4 = ld4(gm, plane, c0, ih, iw + 4); var p5 = ld4(gm, plane, c0, ih, iw + 5);
      var p6 = ld4(gm, plane, c0, ih, iw + 6); var p7 = ld4(gm, plane, c0, ih, iw + 7);
      for (var kw = 0u; kw < KW; kw++) {
        step_narrow(&acc, p0, p1, p2, p3, p4, p5, p6, p7, wt[wi]);
        wi += 4u;
        if (kw + 1u < KW) {
          p0 = p1; p1 = p2; p2 = p3; p3 = p4; p4 = p5; p5 = p6; p6 = p7;
          p7 = ld4(gm, plane, c0, ih, iw + 8 + i32(kw));
        }
      }
      plane += 4u * gm.HW;
    }
  }
  store_narrow(&acc, t);
}

// The narrow tile's twin of mid_s1_rows: the same 10-pixel windows of aligned vec4s (the edges shuffled
// between lanes where rows do not straddle workgroups) and vec4 stores, for at most 8 output channels:
// backward to the input of the CIFAR stem (16 -> 3 channels), which narrow_s1's gathers ran at 6 % of
// the FMA ceiling.
@compute @workgroup_size(8)
fn narrow_s1_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 4u);
  var acc: array<vec4f, 8>;
  init_narrow(&acc, t, lane);
  let C4 = params.C4; let KH = params.KH; let DH = i32(params.DH);
  let XH = i32(params.XH);
  let HW4 = params.XH * params.XW / 4u;
  let has_l = t.ow0 > 0u; let has_b = t.ow0 + 4u < params.XW; let has_r = t.ow0 + 8u < params.XW;
  var wi = t.w0 + (lane & 3u);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    let row_ok = ih >= 0 && ih < XH;
    var q = row_vec4(t, ih, t.ow0);
    for (var c = 0u; c < C4; c++) {
      let w = quad_window10(q, HW4, 4u * c, row_ok, has_l, has_b, has_r);
      var s0 = w.p0; var s1 = w.p1; var s2 = w.p2; var s3 = w.p3; var s4 = w.p4; var s5 = w.p5; var s6 = w.p6; var s7 = w.p7;
      for (var kw = 0u; kw < 3u; kw++) {
        step_narrow(&acc, s0, s1, s2, s3, s4, s5, s6, s7, wt[wi + 4u * kw]);
        s0 = s1; s1 = s2; s2 = s3; s3 = s4; s4 = s5; s5 = s6; s6 = s7; s7 = select(w.p9, w.p8, kw == 0u);
      }
      wi += 12u; q += 4u * HW4;
    }
  }
  let o = out_map(t);
  store_px4(o, t.oc, o.pix, t.valid, acc[0], acc[1], acc[2], acc[3]);
  store_px4(o, t.oc, o.pix + 4u, t.valid && t.ow0 + 4u < params.Wo, acc[4], acc[5], acc[6], acc[7]);
}

@compute @workgroup_size(8)
fn narrow_any(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = tile_of(wid, nwg, lane, 8u, 4u);
  var acc: array<vec4f, 8>;
  init_narrow(&acc, t, lane);
  let gm = geo();
  let C4 = params.C4; let KH = params.KH; let KW = params.KW;
  let SW = i32(params.SW); let DH = i32(params.DH); let DW = i32(params.DW);
  var wi = t.w0 + (lane & 3u);
  for (var kh = 0u; kh < KH; kh++) {
    let ih = t.ih0 + i32(kh) * DH;
    var plane = t.plane;
    for (var c = 0u; c < C4; c++) {
      let c0 = 4u * c;
      var iw = t.iw0;
      for (var kw = 0u; kw < KW; kw++) {
        let p0 = ld4(gm, plane, c0, ih, iw); let p1 = ld4(gm, plane, c0, ih, iw + SW);
        let p2 = ld4(gm, plane, c0, ih, iw + 2 * SW); let p3 = ld4(gm, plane, c0, ih, iw + 3 * SW);
        let p4 = ld4(gm, plane, c0, ih, iw + 4 * SW); let p5 = ld4(gm, plane, c0, ih, iw + 5 * SW);
        let p6 = ld4(gm, plane, c0, ih, iw + 6 * SW); let p7 = ld4(gm, plane, c0, ih, iw + 7 * SW);
        step_narrow(&acc, p0, p1, p2, p3, p4, p5, p6, p7, wt[wi]);
        iw += DW; wi += 4u;
      }
      plane += 4u * gm.HW;
    }
  }
  store_narrow(&acc, t);
}
