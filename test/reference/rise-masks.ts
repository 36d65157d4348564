// CPU reference for the RISE masks: the same counter-based hash and grid as docs/design.md §2.9 describes
// (s x s Bernoulli(p) grid, bilinear upsampling with align_corners = false to (s+1)*cell, crop at a
// random shift in [0, cell)), written independently of the WGSL.

function fmix32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

function uniform01(seed: number, stream: number, counter: number): number {
  const h = fmix32((fmix32((seed ^ stream) >>> 0) + Math.imul(counter, 0x9e3779b9)) >>> 0);
  return (h >>> 8) / 16777216;
}

export function riseMaskRef(index: number, s: number, p: number, seed: number, h: number, w: number): Float32Array {
  const cellH = Math.ceil(h / s);
  const cellW = Math.ceil(w / s);
  const grid = (gy: number, gx: number) => (uniform01(seed, 0x52495345, (index * s + gy) * s + gx) < p ? 1 : 0);
  const shiftY = Math.min(Math.floor(uniform01(seed, 0x53484659, index) * cellH), cellH - 1);
  const shiftX = Math.min(Math.floor(uniform01(seed, 0x53484658, index) * cellW), cellW - 1);
  const src = (dst: number, up: number) => Math.max((dst + 0.5) * (s / up) - 0.5, 0);
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const sy = src(r + shiftY, (s + 1) * cellH);
      const sx = src(c + shiftX, (s + 1) * cellW);
      const y0 = Math.min(Math.floor(sy), s - 1);
      const x0 = Math.min(Math.floor(sx), s - 1);
      const y1 = Math.min(y0 + 1, s - 1);
      const x1 = Math.min(x0 + 1, s - 1);
      const ly = sy - y0;
      const lx = sx - x0;
      const top = grid(y0, x0) * (1 - lx) + grid(y0, x1) * lx;
      const bottom = grid(y1, x0) * (1 - lx) + grid(y1, x1) * lx;
      out[r * w + c] = top * (1 - ly) + bottom * ly;
    }
  }
  return out;
}
