// Layout transforms that feed the implicit-GEMM conv2d kernels (conv2d_gemm.wgsl, conv2d_gemm_sg.wgsl).
//
// pack_input: x (N, C, H, W) -> xt (N, G, Hp, Wp, C4 * 4), channels last within each group, zero padded
//   in space (the conv's padding becomes real zeros, so the GEMM loops have no bounds tests) and in
//   channels (Cg rounded up to a multiple of 4, so a pixel's channels load as whole vec4s).
//   xt[n, g, hp, wp, c] = x[n, g*Cg + c, hp - padT, wp - padL], or 0 outside x or for c >= Cg.
//   padT/padL may be negative (backward phases crop instead of pad).
//
// pack_weight: w (G*Og, Cg, KH, KW) -> wt laid out in GEMM k-steps for an output-channel tile of TN:
//   wt[g, nt, jh, c4, jw, k, t] (floats), one k-step = 4 input channels (c4*4 + k) x TN output channels.
//   MODE 0 (forward):  wt = w[g*Og + nt*TN + t, c4*4 + k, jh, jw]
//   MODE 1 (backward to the input, i.e. the transposed conv; input and output channels swap roles
//   and the kernel is flipped and, for strided convs, subsampled to one output phase):
//                      wt = w[g*Og + c4*4 + k, nt*TN + t, kh0 + (JH-1-jh)*TH, kw0 + (JW-1-jw)*TW]
//   MODE 2 (columns: a 1x1 GEMM from dy's Og channels to the Cg*KH*KW patch columns of dx, which
//   col2im then sums; for inputs with few channels):
//                      wt = w[g*Og + c4*4 + k, co / (KH*KW), (co / KW) % KH, co % KW], co = nt*TN + t

struct Params {
  // pack_input
  C: u32, H: u32, W: u32, G: u32, Cg: u32, C4: u32, Hp: u32, Wp: u32, padT: i32, padL: i32,
  // pack_weight (G and C4 shared): original weight (G*Og, Cg, KH, KW), GEMM kernel JH x JW
  Og: u32, KH: u32, KW: u32, NT: u32, TN: u32, JH: u32, JW: u32, kh0: u32, kw0: u32, TH: u32, TW: u32,
  total: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> xt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> wt: array<f32>;

override WG: u32 = 256;
override MODE: u32 = 0;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// One invocation per output vec4 (4 channels of one padded pixel).
@compute @workgroup_size(WG)
fn pack_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let C4 = params.C4; let Wp = params.Wp; let Hp = params.Hp; let G = params.G; let Cg = params.Cg;
  let c4 = idx % C4; let wp = (idx / C4) % Wp; let hp = (idx / (C4 * Wp)) % Hp;
  let g = (idx / (C4 * Wp * Hp)) % G; let n = idx / (C4 * Wp * Hp * G);
  let ih = i32(hp) - params.padT;
  let iw = i32(wp) - params.padL;
  var v = vec4f(0.0);
  if (ih >= 0 && ih < i32(params.H) && iw >= 0 && iw < i32(params.W)) {
    let HW = params.H * params.W;
    let c0 = c4 * 4u;
    var src = ((n * params.C + g * Cg + c0) * params.H + u32(ih)) * params.W + u32(iw);
    for (var k = 0u; k < 4u; k++) {
      if (c0 + k < Cg) { v[k] = x[src]; }
      src += HW;
    }
  }
  xt[idx] = v;
}

// One invocation per packed weight float.
@compute @workgroup_size(WG)
fn pack_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = flat_index(gid, nwg);
  if (idx >= params.total) { return; }
  let TN = params.TN; let JW = params.JW; let JH = params.JH; let C4 = params.C4; let NT = params.NT;
  let t = idx % TN; let k = (idx / TN) % 4u; let jw = (idx / (TN * 4u)) % JW;
  let c4 = (idx / (TN * 4u * JW)) % C4; let jh = (idx / (TN * 4u * JW * C4)) % JH;
  let nt = (idx / (TN * 4u * JW * C4 * JH)) % NT; let g = idx / (TN * 4u * JW * C4 * JH * NT);
  let ci = c4 * 4u + k;       // GEMM input channel within the group
  let co = nt * TN + t;       // GEMM output channel within the group
  let Og = params.Og; let Cg = params.Cg; let KH = params.KH; let KW = params.KW;
  var v = 0.0;
  if (MODE == 0u) {
    if (ci < Cg && co < Og) { v = w[(((g * Og + co) * Cg + ci) * KH + jh) * KW + jw]; }
  } else if (MODE == 1u) {
    let kh = params.kh0 + (JH - 1u - jh) * params.TH;
    let kw = params.kw0 + (JW - 1u - jw) * params.TW;
    if (ci < Og && co < Cg) { v = w[(((g * Og + ci) * Cg + co) * KH + kh) * KW + kw]; }
  } else {
    // w[o, c, kh, kw] is contiguous in co = (c*KH + kh)*KW + kw
    if (ci < Og && co < Cg * KH * KW) { v = w[(g * Og + ci) * Cg * KH * KW + co]; }
  }
  wt[idx] = v;
}
