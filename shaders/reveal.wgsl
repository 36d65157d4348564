// Insertion / deletion steps (RISE's causal metrics): for batch item b, a pixel whose saliency rank is
// below threshold[b] shows `revealed`, the others show `base`.
//   insertion: revealed = image, base = blurred image;  deletion: revealed = zeros, base = image.
// rank: (H*W) u32, 0 = most salient; revealed, base: (C, H, W); out: (B, C, H, W).

struct Params { batch: u32, channels: u32, plane: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rank: array<u32>;
@group(0) @binding(2) var<storage, read> threshold: array<u32>;
@group(0) @binding(3) var<storage, read> revealed: array<f32>;
@group(0) @binding(4) var<storage, read> base: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn compose(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let per_item = params.channels * params.plane;
  if (i >= params.batch * per_item) { return; }
  let b = i / per_item;
  let j = i % per_item;
  let p = j % params.plane;
  out[i] = select(base[j], revealed[j], rank[p] < threshold[b]);
}
