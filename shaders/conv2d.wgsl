// conv2d, direct formulation: forward, backward to the input (gather), backward to the weights.
// PyTorch semantics: cross-correlation, zero padding, floor output size, dilation, groups.
//   x: (N, C, H, W), w: (O, Cg, KH, KW) with Cg = C / G, Og = O / G, y/dy: (N, O, Ho, Wo)
// These kernels serve every shape the implicit-GEMM kernels (conv2d_gemm*.wgsl) do not suit
// (depthwise and other thin groups) and are the cross-check for them. One invocation per output
// element keeps them simple and obviously correct; they are not the hot path.

struct Params {
  N: u32, C: u32, H: u32, W: u32,
  O: u32, Ho: u32, Wo: u32,
  KH: u32, KW: u32,
  SH: u32, SW: u32, PH: u32, PW: u32, DH: u32, DW: u32,
  Cg: u32, Og: u32,
  Hq: u32, Wq: u32,  // ceil(H / SH), ceil(W / SW): positions per phase (backward_input, col2im)
  TH: u32, TW: u32, DQH: u32, DQW: u32,  // S / gcd(S, D) and D / gcd(S, D) per axis (see taps_of)
  HWp: u32,          // im2col / unpad_planes: a column plane's length, Ho*Wo rounded up to whole vec4s
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;          // forward / backward-weight input
@group(0) @binding(2) var<storage, read> w: array<f32>;          // weights (O, Cg, KH, KW)
@group(0) @binding(3) var<storage, read> bias: array<f32>;       // (O); bound to w when HAS_BIAS == 0
@group(0) @binding(4) var<storage, read_write> y: array<f32>;    // forward output
@group(0) @binding(5) var<storage, read> dy: array<f32>;         // upstream gradient (N, O, Ho, Wo)
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;   // gradient w.r.t. x (N, C, H, W)
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;   // gradient w.r.t. w (O, Cg, KH, KW)
@group(0) @binding(8) var<storage, read> col: array<f32>;        // patch columns (N, C*KH*KW, Ho*Wo)
@group(0) @binding(9) var<storage, read_write> patches: array<f32>; // im2col's output, laid out as col
@group(0) @binding(10) var<storage, read> relu_y: array<f32>;    // col2im with INPUT_RELU: the ReLU output x is
@group(0) @binding(11) var<storage, read> plus: array<f32>;      // col2im with INPUT_PLUS: a gradient dx also gets
@group(0) @binding(12) var<storage, read_write> quads: array<vec4<f32>>; // im2col_quads' output (N, HWp/4, C*KH*KW) vec4s
@group(0) @binding(13) var<storage, read> x4: array<vec4<f32>>;  // x as vec4s (im2col_quads_rows)

override WG: u32 = 256;
override HAS_BIAS: u32 = 0;
override ACT: u32 = 0;  // 0: none, 1: relu
// col2im only: take the gradient on through the ReLU whose output is the conv's input, under the rule
// whose masks these are (relu.wgsl): dx = s * [relu_y > 0 or !MASK_Z] * [s > 0 or !MASK_R].
override INPUT_RELU: bool = false;
override MASK_Z: bool = true;
override MASK_R: bool = false;
// col2im only: add the gradient the ReLU's output has from another reader (a residual block's shortcut)
// before its masks: dx = (s + plus) * masks, as addInPlace then reluBackward would.
override INPUT_PLUS: bool = false;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// y[n, o, i, j] = bias[o] + sum_{c, p, q} x[n, g*Cg + c, i*SH - PH + p*DH, j*SW - PW + q*DW] * w[o, c, p, q]
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let H = i32(params.H); let W = i32(params.W);
  let Ho = params.Ho; let Wo = params.Wo; let KH = params.KH; let KW = params.KW;
  let Cg = params.Cg; let O = params.O;
  let j = idx % Wo; let i = (idx / Wo) % Ho; let o = (idx / (Wo * Ho)) % O; let n = idx / (Wo * Ho * O);
  let g = o / params.Og;
  let ih0 = i32(i * params.SH) - i32(params.PH);
  let iw0 = i32(j * params.SW) - i32(params.PW);
  var s = 0.0;
  if (HAS_BIAS != 0u) { s = bias[o]; }
  for (var c = 0u; c < Cg; c++) {
    let xplane = (n * params.C + g * Cg + c) * params.H;
    let wbase = (o * Cg + c) * KH;
    for (var p = 0u; p < KH; p++) {
      let ih = ih0 + i32(p * params.DH);
      if (ih < 0 || ih >= H) { continue; }
      let xrow = (xplane + u32(ih)) * params.W;
      let wrow = (wbase + p) * KW;
      for (var q = 0u; q < KW; q++) {
        let iw = iw0 + i32(q * params.DW);
        if (iw < 0 || iw >= W) { continue; }
        s += x[xrow + u32(iw)] * w[wrow + q];
      }
    }
  }
  if (ACT == 1u) { s = max(s, 0.0); }
  y[idx] = s;
}

// im2col (ungrouped convs): patches[n, (c, p, q), i, j] = x[n, c, i*SH - PH + p*DH, j*SW - PW + q*DW], 0 in
// the padding, in planes of pixels (backward to the input pads dy's planes with it for a 1x1 conv; the
// forward pass's flat GEMM reads im2col_quads' layout instead). Each (n, c, p, q) plane of Ho*Wo
// patches takes HWp elements, zeros after Ho*Wo, so that planes start on whole vec4s. One invocation
// per patch row segment (n, c, p, q, i): the index arithmetic (integer divisions, which software
// adapters scalarise) is paid once per Wo outputs, not per output.
@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let Wo = params.Wo;
  let i = idx % params.Ho; let row = idx / params.Ho;
  let q = row % params.KW; let p = (row / params.KW) % params.KH;
  let nc = row / (params.KW * params.KH);
  let ih = i32(i * params.SH + p * params.DH) - i32(params.PH);
  let out = row * params.HWp + i * Wo;
  if (i + 1u == params.Ho) {
    for (var j = params.Ho * Wo; j < params.HWp; j++) { patches[row * params.HWp + j] = 0.0; }
  }
  if (ih < 0 || ih >= i32(params.H)) {
    for (var j = 0u; j < Wo; j++) { patches[out + j] = 0.0; }
    return;
  }
  let src = (nc * params.H + u32(ih)) * params.W;
  let W = i32(params.W);
  var iw = i32(q * params.DW) - i32(params.PW);
  for (var j = 0u; j < Wo; j++) {
    let ok = iw >= 0 && iw < W;
    patches[out + j] = select(0.0, x[src + u32(select(0, iw, ok))], ok);
    iw += i32(params.SW);
  }
}

// im2col in pixel quads: quads[n, Q, (c, p, q)] = the patches of output pixels 4Q..4Q+3 as one vec4
// (zero in the padding and past Ho*Wo). The flat GEMM then reads each lane's K values as one contiguous
// run instead of one vec4 from each of K planes a plane apart, which lavapipe reads more slowly
// (ResNet-50's stem GEMM, K = 147 on 112x112, ran 1.26x faster from quads; docs/adapter.md). One invocation per quad
// finds its 4 pixels' rows and columns once, then walks (c, p, q) with counters.
@compute @workgroup_size(WG)
fn im2col_quads(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let Q4 = params.HWp / 4u;
  let quad = idx % Q4; let n = idx / Q4;
  let H = i32(params.H); let W = i32(params.W);
  var ih0 = vec4<i32>(0); var iw0 = vec4<i32>(0); var real = vec4<bool>(false);
  for (var k = 0u; k < 4u; k++) {
    let f = 4u * quad + k;
    real[k] = f < params.Ho * params.Wo;
    ih0[k] = i32((f / params.Wo) * params.SH) - i32(params.PH);
    iw0[k] = i32((f % params.Wo) * params.SW) - i32(params.PW);
  }
  var out = idx * params.C * params.KH * params.KW;
  var plane = n * params.C * params.H * params.W;
  for (var c = 0u; c < params.C; c++) {
    for (var p = 0u; p < params.KH; p++) {
      let ih = ih0 + vec4<i32>(i32(p * params.DH));
      let row_ok = real & (ih >= vec4<i32>(0)) & (ih < vec4<i32>(H));
      for (var q = 0u; q < params.KW; q++) {
        let iw = iw0 + vec4<i32>(i32(q * params.DW));
        let ok = row_ok & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(W));
        let src = vec4<u32>(select(vec4<i32>(0), ih * W + iw, ok)) + vec4<u32>(plane);
        quads[out] = select(vec4f(0.0), vec4f(x[src.x], x[src.y], x[src.z], x[src.w]), ok);
        out++;
      }
    }
    plane += params.H * params.W;
  }
}

// im2col_quads where Wo and W are whole vec4s: a quad's 4 pixels share an output row, and what they read
// of one input row, columns 4 * ow0 * SW - PW onwards, is RQ_NV aligned vec4s (each wholly inside the
// row or wholly padding), from which the quad's KW vec4s are picked. The column geometry is specialised
// (override constants), so the picks are at constant positions: 2-4 vec4 loads per kernel row where
// im2col_quads gathers 4 * KW floats.
override RQ_KW: u32 = 1;
override RQ_SW: u32 = 1;
override RQ_DW: u32 = 1;
// (-PW) mod 4: the offset of a quad's first column in its vec4 (4 * ow0 * SW is a multiple of 4).
override RQ_R: u32 = 0;
// Aligned vec4s per kernel row: (RQ_R + 3 SW + (KW - 1) DW) / 4 + 1, at most RQ_MAX_NV.
override RQ_NV: u32 = 1;
const RQ_MAX_NV: u32 = 8u;

fn span_at(s: ptr<function, array<vec4f, RQ_MAX_NV>>, o: u32) -> f32 {
  return (*s)[o / 4u][o % 4u];
}

@compute @workgroup_size(WG)
fn im2col_quads_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let Q4 = params.HWp / 4u;
  let quad = idx % Q4; let n = idx / Q4;
  let oh = (4u * quad) / params.Wo; let ow0 = (4u * quad) % params.Wo;
  let ih0 = i32(oh * params.SH) - i32(params.PH);
  // the vec4-aligned column before the quad's first: a multiple of 4
  let base = i32(ow0 * RQ_SW) - i32(params.PW) - i32(RQ_R);
  let H = i32(params.H); let W = i32(params.W);
  let W4 = params.W / 4u;
  var out = idx * params.C * params.KH * RQ_KW;
  var plane4 = n * params.C * params.H * W4;
  var span: array<vec4f, RQ_MAX_NV>;
  for (var c = 0u; c < params.C; c++) {
    for (var p = 0u; p < params.KH; p++) {
      let ih = ih0 + i32(p * params.DH);
      let row_ok = ih >= 0 && ih < H;
      let row4 = plane4 + u32(select(0, ih, row_ok)) * W4;
      for (var v = 0u; v < RQ_NV; v++) {
        let iw = base + 4 * i32(v);
        let ok = row_ok && iw >= 0 && iw < W;
        span[v] = select(vec4f(0.0), x4[row4 + u32(select(0, iw, ok)) / 4u], ok);
      }
      for (var q = 0u; q < RQ_KW; q++) {
        let o = RQ_R + q * RQ_DW;
        quads[out] = vec4f(span_at(&span, o), span_at(&span, o + RQ_SW), span_at(&span, o + 2u * RQ_SW), span_at(&span, o + 3u * RQ_SW));
        out++;
      }
    }
    plane4 += params.H * W4;
  }
}

// Backward to the input of a stride-S conv as a stride-1 one: dy spread over the input's grid, dy[i, j]
// at (i*SH, j*SW) and zeros between, written through dx as (N, O, H, W). One invocation per row of W,
// as im2col: no integer division per element.
@compute @workgroup_size(WG)
fn zero_insert(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let W = params.W;
  let ih = idx % params.H; let plane = idx / params.H;
  let out = idx * W;
  let i = ih / params.SH;
  if (ih % params.SH != 0u || i >= params.Ho) {
    for (var iw = 0u; iw < W; iw++) { dx[out + iw] = 0.0; }
    return;
  }
  var src = (plane * params.Ho + i) * params.Wo;
  var phase = 0u;  // iw % SW
  var j = 0u;      // iw / SW
  for (var iw = 0u; iw < W; iw++) {
    let on = phase == 0u && j < params.Wo;
    dx[out + iw] = select(0.0, dy[select(0u, src, on)], on);
    if (on) { src++; }
    phase++;
    if (phase == params.SW) { phase = 0u; j++; }
  }
}

// y = the first Ho*Wo elements of each HWp-long plane of col: a GEMM's output over im2col's padded
// planes, unpadded. One invocation per plane (no integer division per element).
@compute @workgroup_size(WG)
fn unpad_planes(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let plane = flat_index(gid, nwg);
  if (plane >= params.total) { return; }
  let HW = params.Ho * params.Wo;
  let src = plane * params.HWp; let dst = plane * HW;
  for (var k = 0u; k < HW; k++) { y[dst + k] = col[src + k]; }
}

// Gather form: each input pixel sums the contributions of the outputs whose window covered it, so
// no two invocations write the same element (no atomics). Output i covers input ih through tap p
// when ih + PH - p*DH = i*SH for an integer 0 <= i < Ho; see taps_of.
@compute @workgroup_size(WG)
fn backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let px = phase_major(idx);
  if (!px.ok) { return; }
  let KH = params.KH; let KW = params.KW; let Cg = params.Cg; let Og = params.Og;
  let Ho = i32(params.Ho); let Wo = i32(params.Wo);
  let g = px.c / Cg; let cg = px.c % Cg;
  let rows = taps_of(px.ih + params.PH, params.SH, params.DH, KH, params.TH, params.DQH);
  let cols = taps_of(px.iw + params.PW, params.SW, params.DW, KW, params.TW, params.DQW);
  var s = 0.0;
  for (var a = 0u; a < rows.n; a++) {
    let i = rows.q0 - i32(a * params.DQH);
    if (i < 0 || i >= Ho) { continue; }
    let p = rows.p0 + a * params.TH;
    for (var b = 0u; b < cols.n; b++) {
      let j = cols.q0 - i32(b * params.DQW);
      if (j < 0 || j >= Wo) { continue; }
      let q = cols.p0 + b * params.TW;
      var di = ((px.n * params.O + g * Og) * params.Ho + u32(i)) * params.Wo + u32(j);
      var wi = ((g * Og * Cg + cg) * KH + p) * KW + q;
      for (var og = 0u; og < Og; og++) {
        s += dy[di] * w[wi];
        di += params.Ho * params.Wo;
        wi += Cg * KH * KW;
      }
    }
  }
  dx[((px.n * params.C + px.c) * params.H + px.ih) * params.W + px.iw] = s;
}

// col2im: the second half of backward to the input for inputs with few channels, after a GEMM has
// formed col[n, (c, p, q), i, j] = sum_o w[o, c, p, q] * dy[n, o, i, j]. Same gather as above, one load
// per covering output, but one invocation per row of one phase of dx: (n, c, rh, rw, i) walks
// iw = j*SW + rw, whose taps along W are the same for every j (the tap search and the index
// arithmetic, integer divisions that lavapipe runs lane by lane, happen once per row instead of once
// per pixel). Neighbouring invocations are neighbouring rows of one phase, so they share their taps.
@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let SH = params.SH; let SW = params.SW;
  let i = idx % params.Hq; let r = idx / params.Hq;
  let rw = r % SW; let rh = (r / SW) % SH; let nc = r / (SW * SH);
  let ih = i * SH + rh;
  if (ih >= params.H) { return; }
  let KW = params.KW;
  let Ho = i32(params.Ho); let Wo = i32(params.Wo);
  let HWo = params.Ho * params.Wo;
  let base = nc * params.KH * KW;  // nc = n * C + c
  let rows = taps_of(ih + params.PH, SH, params.DH, params.KH, params.TH, params.DQH);
  // Taps along W for column j = 0 of the phase; column j reads output column q0 + j - b*DQW.
  let cols = taps_of(rw + params.PW, SW, params.DW, KW, params.TW, params.DQW);
  let out0 = (nc * params.H + ih) * params.W + rw;
  for (var j = 0u; j < params.Wq; j++) {
    let iw = j * SW + rw;
    if (iw >= params.W) { break; }
    var s = 0.0;
    for (var a = 0u; a < rows.n; a++) {
      let oi = rows.q0 - i32(a * params.DQH);
      if (oi < 0 || oi >= Ho) { continue; }
      let row = (base + (rows.p0 + a * params.TH) * KW) * HWo + u32(oi) * params.Wo;
      for (var b = 0u; b < cols.n; b++) {
        let oj = cols.q0 + i32(j) - i32(b * params.DQW);
        if (oj < 0 || oj >= Wo) { continue; }
        s += col[row + (cols.p0 + b * params.TW) * HWo + u32(oj)];
      }
    }
    let at = out0 + j * SW;
    if (INPUT_PLUS) { s += plus[at]; }
    if (INPUT_RELU) { s = select(0.0, s, (!MASK_Z || relu_y[at] > 0.0) && (!MASK_R || s > 0.0)); }
    dx[at] = s;
  }
}

// Invocations enumerate dx phase by phase: (n, c, rh, i, rw, j) -> ih = i*SH + rh, iw = j*SW + rw.
// Neighbouring invocations then share one phase, so the taps that apply are the same for the whole
// subgroup (lavapipe runs 8 lanes in lockstep and would otherwise execute every tap masked).
struct Pixel { n: u32, c: u32, ih: u32, iw: u32, ok: bool }

fn phase_major(idx: u32) -> Pixel {
  let Wr = params.SW * params.Wq; let Hr = params.SH * params.Hq;
  let a = idx % Wr; let b = (idx / Wr) % Hr;
  var px: Pixel;
  px.c = (idx / (Wr * Hr)) % params.C; px.n = idx / (Wr * Hr * params.C);
  px.iw = (a % params.Wq) * params.SW + a / params.Wq;
  px.ih = (b % params.Hq) * params.SH + b / params.Hq;
  px.ok = px.iw < params.W && px.ih < params.H;
  return px;
}

// For one axis, with t = in + pad: the taps p with t - p*D divisible by S are p0 + a*T (T = S / gcd(S, D)),
// a < n, and tap p0 + a*T reads output q0 - a*DQ (DQ = D / gcd(S, D)). Outputs outside [0, Ho) are
// skipped by the caller. At most T candidates are tried to find p0: no division per tap.
struct Taps { p0: u32, q0: i32, n: u32 }

fn taps_of(t: u32, S: u32, D: u32, K: u32, T: u32, DQ: u32) -> Taps {
  var r = Taps(0u, 0, 0u);
  for (var p = 0u; p < min(K, T); p++) {
    let th = i32(t) - i32(p * D);
    if (((th % i32(S)) + i32(S)) % i32(S) == 0) {
      r.p0 = p;
      r.q0 = th / i32(S);
      r.n = (K - 1u - p) / T + 1u;
      break;
    }
  }
  return r;
}

// dw[o, c, p, q] = sum_{n, i, j} dy[n, o, i, j] * x[n, g*Cg + c, i*SH - PH + p*DH, j*SW - PW + q*DW]
// One invocation per weight; the valid (i, j) range is computed up front so the loop has no tests.
@compute @workgroup_size(WG)
fn backward_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let KH = params.KH; let KW = params.KW; let Cg = params.Cg;
  let q = idx % KW; let p = (idx / KW) % KH; let c = (idx / (KW * KH)) % Cg; let o = idx / (KW * KH * Cg);
  let g = o / params.Og;
  // ih = i*SH + oh0 must lie in [0, H): i in [i_lo, i_hi)
  let oh0 = i32(p * params.DH) - i32(params.PH);
  let ow0 = i32(q * params.DW) - i32(params.PW);
  let SH = i32(params.SH); let SW = i32(params.SW);
  let i_lo = u32(max(0, (-oh0 + SH - 1) / SH));
  let j_lo = u32(max(0, (-ow0 + SW - 1) / SW));
  let i_hi = u32(clamp((i32(params.H) - oh0 + SH - 1) / SH, 0, i32(params.Ho)));
  let j_hi = u32(clamp((i32(params.W) - ow0 + SW - 1) / SW, 0, i32(params.Wo)));
  var s = 0.0;
  for (var n = 0u; n < params.N; n++) {
    let xplane = (n * params.C + g * Cg + c) * params.H;
    let dplane = (n * params.O + o) * params.Ho;
    for (var i = i_lo; i < i_hi; i++) {
      let xrow = (xplane + u32(i32(i) * SH + oh0)) * params.W;
      let drow = (dplane + i) * params.Wo;
      for (var j = j_lo; j < j_hi; j++) {
        s += dy[drow + j] * x[xrow + u32(i32(j) * SW + ow0)];
      }
    }
  }
  dw[idx] = s;
}
