// Channel concatenation (torch.cat(xs, 1)) as one strided copy per input, and its backward.
//   part: (N, Ck, H, W), whole: (N, C, H, W), the part's channels at [c0, c0 + Ck) of the whole.
//   place  whole[n, c0 + c, h, w] = part[n, c, h, w]    (forward: once per input, into one output)
//   take   part[n, c, h, w] = whole[n, c0 + c, h, w]    (backward: the gradient of each input)
// Every element of the part is one invocation; with `chunk` = Ck H W and `stride` = C H W, element
// i of the part is element (i / chunk) * stride + offset + i % chunk of the whole, offset = c0 H W.

struct Params { n: u32, chunk: u32, stride: u32, offset: u32, }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> whole: array<f32>;
@group(0) @binding(3) var<storage, read> whole_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> part_out: array<f32>;

override WG: u32 = 256;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn whole_index(i: u32) -> u32 {
  let n = i / params.chunk;
  return n * params.stride + params.offset + (i - n * params.chunk);
}

@compute @workgroup_size(WG)
fn place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  whole[whole_index(i)] = part[i];
}

@compute @workgroup_size(WG)
fn take(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  part_out[i] = whole_in[whole_index(i)];
}
