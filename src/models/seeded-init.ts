/**
 * Seeded, bit-reproducible weights: the TypeScript twin of tools/seeded_init.py.
 *
 * PyTorch reference files (test/references/*.safetensors) are generated from torchvision models
 * filled with these values, so tests rebuild the same weights here instead of committing them.
 *
 * Generator (u32 arithmetic wraps mod 2^32):
 *   keyhash(name, seed) = FNV-1a 32-bit over the UTF-8 bytes of name, then XOR seed
 *   element i: x = keyhash + i * 0x9E3779B9; x ^= x >>> 16; x *= 0x85EBCA6B; x ^= x >>> 13;
 *              x *= 0xC2B2AE35; x ^= x >>> 16; r = 2 * ((x >>> 8) / 2^24) - 1   (exact)
 *   value = fround(a + b * r) by role:
 *     ndim >= 2 `*.weight`  a = 0, b = sqrt(6 / fan_in), fan_in = prod(shape[1:])
 *     1-D `*.weight`        a = 1, b = 0.25
 *     `*.bias`              a = 0, b = 0.1
 *     `*.running_mean`      a = 0, b = 0.1
 *     `*.running_var`       a = 1.25, b = 0.25
 *     `*.num_batches_tracked`  zeros
 *     `input`               a = 0, b = 1
 */

const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;

const utf8 = new TextEncoder();

/** FNV-1a 32-bit of the UTF-8 bytes of `name`, XOR `seed` (as u32). */
export function keyhash(name: string, seed = 0): number {
  let h = FNV_OFFSET;
  for (const b of utf8.encode(name)) {
    h = Math.imul((h ^ b) >>> 0, FNV_PRIME) >>> 0;
  }
  return (h ^ (seed >>> 0)) >>> 0;
}

/** The u32 hash of element `i` for a precomputed keyhash. */
export function elementBits(kh: number, i: number): number {
  let x = (kh + Math.imul(i, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export type SeededRole = 'kaiming_uniform' | 'norm_weight' | 'bias' | 'running_mean' | 'running_var' | 'num_batches_tracked' | 'input';

/** The role of a tensor and its affine map value = fround(a + b * r). Throws for unknown names. */
export function seededRole(name: string, shape: readonly number[]): { role: SeededRole; a: number; b: number } {
  const dot = name.lastIndexOf('.');
  const leaf = dot >= 0 ? name.slice(dot + 1) : name;
  const nd = shape.length;
  if (name === 'input') return { role: 'input', a: 0, b: 1 };
  if (leaf === 'num_batches_tracked') return { role: 'num_batches_tracked', a: 0, b: 0 };
  if (leaf === 'weight') {
    if (nd >= 2) {
      let fanIn = 1;
      for (let k = 1; k < nd; k++) fanIn *= shape[k]!;
      if (!(fanIn > 0)) throw new Error(`seeded init: '${name}' has fan_in 0 (shape [${shape.join(', ')}])`);
      return { role: 'kaiming_uniform', a: 0, b: Math.sqrt(6 / fanIn) };
    }
    if (nd === 1) return { role: 'norm_weight', a: 1, b: 0.25 };
    throw new Error(`seeded init: '${name}' is a 0-d weight`);
  }
  if (leaf === 'bias') return { role: 'bias', a: 0, b: 0.1 };
  if (leaf === 'running_mean') return { role: 'running_mean', a: 0, b: 0.1 };
  if (leaf === 'running_var') return { role: 'running_var', a: 1.25, b: 0.25 };
  throw new Error(
    `seeded init: no role for tensor '${name}' (expected *.weight, *.bias, *.running_mean, ` +
      `*.running_var, *.num_batches_tracked or 'input')`,
  );
}

function elementCount(name: string, shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`seeded init: '${name}' has a bad shape [${shape.join(', ')}]`);
    n *= s;
  }
  return n;
}

/**
 * The seeded values of tensor `name` with `shape` (C order), bit-identical to
 * tools/seeded_init.py's seeded_values. `num_batches_tracked` gives zeros.
 * `count` (optional) generates only the first `count` elements.
 */
export function seededValues(name: string, shape: readonly number[], seed = 0, count?: number): Float32Array {
  const { role, a, b } = seededRole(name, shape);
  const total = elementCount(name, shape);
  const n = count === undefined ? total : Math.min(count, total);
  const out = new Float32Array(n);
  if (role === 'num_batches_tracked') return out;
  const kh = keyhash(name, seed);
  for (let i = 0; i < n; i++) {
    const r = ((elementBits(kh, i) >>> 8) / 16777216) * 2 - 1;
    out[i] = a + b * r; // Float32Array store rounds the float64 once, like Math.fround
  }
  return out;
}

/** A seeded image batch (e.g. [N, 3, H, W]) with values r in [-1, 1): tensor name 'input'. */
export function seededInput(shape: readonly number[], seed = 0): Float32Array {
  return seededValues('input', shape, seed);
}

/** Fill a whole state_dict description ({name: shape}) with seeded values. */
export function seededStateDict(shapes: Record<string, readonly number[]>, seed = 0): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of Object.entries(shapes)) {
    out.set(name, { shape: [...shape], data: seededValues(name, shape, seed) });
  }
  return out;
}
