// Bit-exact cross-check of src/models/seeded-init.ts against tools/seeded_init.py.
// Reference: test/references/seeded_init_check.safetensors (regenerate: python3 tools/seeded_init.py).
// Pure CPU; no GPU needed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../src/io/safetensors.js';
import { keyhash, seededInput, seededRole, seededValues } from '../../src/models/seeded-init.js';

const REF = fileURLToPath(new URL('../references/seeded_init_check.safetensors', import.meta.url));

/** Index of the first bit mismatch, or -1. */
function firstMismatch(got: Float32Array, want: Float32Array): number {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const n = Math.min(g.length, w.length);
  for (let i = 0; i < n; i++) if (g[i] !== w[i]) return i;
  return g.length === w.length ? -1 : n;
}

function expectBitExact(label: string, got: Float32Array, want: Float32Array): void {
  const i = firstMismatch(got, want);
  if (i >= 0) {
    const hex = (v: number | undefined) => (v === undefined ? 'none' : new Uint32Array(new Float32Array([v]).buffer)[0]!.toString(16));
    console.error(
      `${label}: first mismatch at flat index ${i} of ${want.length}: got ${got[i]} (0x${hex(got[i])}), ` +
        `want ${want[i]} (0x${hex(want[i])})`,
    );
  }
  expect(got.length).toBe(want.length);
  expect(i).toBe(-1);
}

const ref = parseSafetensors(new Uint8Array(readFileSync(REF)), REF);

interface Case {
  key: string;
  name: string;
  shape: number[];
  seed: number;
  count: number;
}
const cases = JSON.parse(ref.metadata.cases!) as Case[];
const digests = JSON.parse(ref.metadata.digests!) as Record<string, Record<string, [number[], number]>>;

function u32Sum(a: Float32Array): number {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  let s = 0;
  for (let i = 0; i < u.length; i++) s = (s + u[i]!) >>> 0;
  return s;
}

describe('seeded init matches tools/seeded_init.py bit for bit', () => {
  it('FNV-1a keyhash', () => {
    // Standard FNV-1a 32-bit test vectors.
    expect(keyhash('')).toBe(0x811c9dc5);
    expect(keyhash('a')).toBe(0xe40c292c);
    expect(keyhash('foobar')).toBe(0xbf9cf968);
    expect(keyhash('a', 0xffffffff)).toBe((0xe40c292c ^ 0xffffffff) >>> 0);
  });

  it('has reference cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of cases) {
    it(`${c.key}: ${c.name} [${c.shape.join(',')}] seed ${c.seed}`, () => {
      expect(ref.info(c.key).dtype).toBe('F32');
      const want = ref.getF32(c.key);
      expect(want.length).toBe(c.count);
      const got =
        c.name === 'input' && c.count === c.shape.reduce((a, b) => a * b, 1)
          ? seededInput(c.shape, c.seed)
          : seededValues(c.name, c.shape, c.seed, c.count);
      expectBitExact(c.key, got, want);
    });
  }

  for (const arch of Object.keys(digests)) {
    it(`whole ${arch} state_dict digest`, () => {
      let bad = 0;
      for (const [name, [shape, sum]] of Object.entries(digests[arch]!)) {
        const got = u32Sum(seededValues(name, shape, 0));
        if (got !== sum) {
          if (bad === 0) console.error(`${arch}.${name}: digest ${got} != ${sum}`);
          bad++;
        }
      }
      expect(bad).toBe(0);
    });
  }

  it('roles, ranges and errors', () => {
    expect(seededRole('features.0.weight', [64, 3, 3, 3])).toEqual({ role: 'kaiming_uniform', a: 0, b: Math.sqrt(6 / 27) });
    expect(seededRole('bn1.weight', [64]).role).toBe('norm_weight');
    expect(seededValues('bn1.num_batches_tracked', [])).toEqual(new Float32Array(1));
    const x = seededInput([1, 3, 8, 8]);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThan(1);
    expect(() => seededValues('layer1.0.alpha', [3])).toThrow(/no role/);
  });
});
