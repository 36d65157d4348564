/**
 * Fuzz-style robustness test: thousands of seeded mutations of a valid file. The reader must either
 * return a file whose tensors all read back consistently, or throw a SafetensorsError: never another
 * error type, never a hang, never a large allocation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, SafetensorsError, parseSafetensors, writeSafetensors, type SafetensorsFile } from '../../src/io/safetensors.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';

/** mulberry32: tiny seeded PRNG, so every failure is reproducible from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(20240601);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];

const base = writeSafetensors(
  {
    'conv1.weight': { dtype: 'F32', shape: [2, 1, 2, 2], data: Float32Array.from({ length: 8 }, (_, i) => i - 3.5) },
    'bn1.num_batches_tracked': { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) },
    'fc.bias': { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc100, 0x7bff]) },
    emb: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x0001]) },
    idx: { dtype: 'I32', shape: [2], data: new Int32Array([-1, 5]) },
    labels: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 9, 255]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  },
  { architecture: 'cifar_resnet', classes: '["a","b"]' },
);
const baseHeaderLength = Number(new DataView(base.buffer).getBigUint64(0, true));
const baseHeaderText = new TextDecoder().decode(base.subarray(8, 8 + baseHeaderLength)).trimEnd();
const baseData = base.subarray(8 + baseHeaderLength);

/** Re-assembles a file from header text and data, with a correct length field unless one is given. */
function assemble(headerText: string, data: Uint8Array = baseData, lengthField?: bigint): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** Every tensor of an accepted file must read back with a length that matches its shape. */
function exercise(file: SafetensorsFile): void {
  for (const name of file.names()) {
    const { dtype, shape, byteLength } = file.info(name);
    const count = shape.reduce((a, b) => a * b, 1);
    const tensor = file.get(name);
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.data.length).toBe(count);
    expect(tensor.data.byteLength).toBe(byteLength);
    expect(file.getF32(name).length).toBe(count);
  }
}

/** Tallies outcomes; a thrown error of any other type fails the test with the case that caused it. */
class Outcomes {
  accepted = 0;
  readonly messages: string[] = [];
  private peakArrayBuffers = 0;
  private readonly baselineArrayBuffers = process.memoryUsage().arrayBuffers;

  record(label: string, outcome: { file?: SafetensorsFile; error?: unknown }): void {
    if (outcome.file !== undefined) {
      exercise(outcome.file);
      this.accepted++;
    } else if (outcome.error instanceof SafetensorsError) {
      this.messages.push(outcome.error.message);
    } else {
      throw new Error(`${label}: expected a SafetensorsError, got ${String(outcome.error)}`, { cause: outcome.error });
    }
    // Sampled, because memoryUsage() is not free; any large allocation would still show up in a run of thousands.
    if ((this.accepted + this.messages.length) % 16 === 0) {
      this.peakArrayBuffers = Math.max(this.peakArrayBuffers, process.memoryUsage().arrayBuffers);
    }
  }

  get total(): number {
    return this.accepted + this.messages.length;
  }

  /** Growth of ArrayBuffer memory over the baseline, in bytes. */
  get arrayBufferGrowth(): number {
    return Math.max(this.peakArrayBuffers, process.memoryUsage().arrayBuffers) - this.baselineArrayBuffers;
  }

  sawMessage(fragment: string): boolean {
    return this.messages.some((m) => m.includes(fragment));
  }
}

function parseOutcome(bytes: Uint8Array): { file?: SafetensorsFile; error?: unknown } {
  try {
    return { file: parseSafetensors(bytes, 'fuzz.safetensors') };
  } catch (error) {
    return { error };
  }
}

async function readOutcome(path: string): Promise<{ file?: SafetensorsFile; error?: unknown }> {
  try {
    return { file: await readSafetensorsFile(path) };
  } catch (error) {
    return { error };
  }
}

function flipBytes(): Uint8Array {
  const bytes = base.slice();
  for (let n = 1 + int(4); n > 0; n--) {
    const at = int(8 + baseHeaderLength);
    bytes[at] = random() < 0.5 ? bytes[at] ^ (1 << int(8)) : int(256);
  }
  return bytes;
}

function withHeaderLength(): Uint8Array {
  const candidates = [
    0n,
    1n,
    7n,
    8n,
    BigInt(baseHeaderLength - 1),
    BigInt(baseHeaderLength + 1),
    BigInt(base.length - 8),
    BigInt(base.length - 7),
    BigInt(MAX_HEADER_BYTES),
    BigInt(MAX_HEADER_BYTES) + 1n,
    2n ** 31n,
    2n ** 32n,
    2n ** 53n + 1n,
    2n ** 63n,
    2n ** 64n - 1n,
    BigInt(int(base.length)),
    BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)),
  ];
  const bytes = base.slice();
  new DataView(bytes.buffer).setBigUint64(0, pick(candidates), true);
  return bytes;
}

const HOSTILE_VALUES = [
  '1e400',
  '-1',
  '-0',
  '1.5',
  '0.0',
  '1e2',
  '9007199254740993',
  '18446744073709551615',
  '4294967296',
  '2147483648',
  '4503599627370496',
  '9007199254740991',
  '"3"',
  'null',
  'true',
  '[]',
  '{}',
  '[0]',
  '[1,2,3]',
  '[1e308,1e308]',
  '-9e15',
];
const DTYPE_STRINGS = ['F64', 'f32', '', ' F32', 'BF16', 'I64', 'U8', 'F16', 'I32', 'BOOL', 'F8_E4M3', '__proto__'];

/** Structure-aware mutations of the JSON text: numbers, dtypes, shifted offsets, deletions, duplications, swaps. */
function mutateJson(): Uint8Array {
  let text = baseHeaderText;
  const numbers = [...text.matchAll(/-?\d+(\.\d+)?([eE][-+]?\d+)?/g)];
  const replaceAt = (start: number, length: number, value: string) => text.slice(0, start) + value + text.slice(start + length);
  switch (int(6)) {
    case 0: {
      const m = pick(numbers);
      text = replaceAt(m.index, m[0].length, pick(HOSTILE_VALUES));
      break;
    }
    case 1: {
      const m = pick([...text.matchAll(/"(F32|F16|BF16|I64|I32|U8)"/g)]);
      text = replaceAt(m.index, m[0].length, JSON.stringify(pick(DTYPE_STRINGS)));
      break;
    }
    case 2: {
      // Moves one tensor's byte range, keeping its size: tensors now overlap or leave the data section.
      const m = pick([...text.matchAll(/"data_offsets":\[(\d+),(\d+)\]/g)]);
      const shift = int(17) - 8;
      text = replaceAt(m.index, m[0].length, `"data_offsets":[${Number(m[1]) + shift},${Number(m[2]) + shift}]`);
      break;
    }
    case 3: {
      const at = int(text.length);
      text = replaceAt(at, 1 + int(12), '');
      break;
    }
    case 4: {
      const at = int(text.length);
      text = replaceAt(at, 0, text.slice(at, at + 1 + int(30)));
      break;
    }
    default: {
      const [a, b] = [pick(numbers), pick(numbers)].sort((x, y) => x.index - y.index);
      if (a.index !== b.index) {
        text = text.slice(0, a.index) + b[0] + text.slice(a.index + a[0].length, b.index) + a[0] + text.slice(b.index + b[0].length);
      }
    }
  }
  // Sometimes also trim or pad the data section, so offsets that became valid-looking still get checked.
  const data = random() < 0.2 ? baseData.subarray(0, int(baseData.length + 1)) : baseData;
  return assemble(text, data);
}

describe('safetensors reader under fuzzing', () => {
  it('parses the unmutated file', () => {
    exercise(parseSafetensors(base));
    expect(parseSafetensors(base).names()).toHaveLength(7);
  });

  // No wall-clock bound here (timings belong in bench/): a parse that ran away would hit vitest's test timeout.
  it('throws only SafetensorsError on thousands of mutations, without large allocations', () => {
    const outcomes = new Outcomes();

    for (let length = 0; length < base.length; length++) {
      const outcome = parseOutcome(base.subarray(0, length));
      expect(outcome.error, `truncation to ${length} bytes must fail`).toBeInstanceOf(SafetensorsError);
      outcomes.record(`truncated to ${length}`, outcome);
    }
    for (let i = 0; i < 3000; i++) outcomes.record(`byte flip #${i}`, parseOutcome(flipBytes()));
    for (let i = 0; i < 500; i++) outcomes.record(`header length #${i}`, parseOutcome(withHeaderLength()));
    for (let i = 0; i < 2500; i++) outcomes.record(`JSON mutation #${i}`, parseOutcome(mutateJson()));

    expect(outcomes.total).toBeGreaterThan(6000);
    expect(outcomes.arrayBufferGrowth).toBeLessThan(8 * 1024 * 1024);
    // The mutations reach every layer of validation, not just the first check.
    for (const fragment of [
      'shorter than the 8-byte',
      'header length is 0',
      'absurd',
      'beyond the file size',
      'not valid UTF-8 JSON',
      'unsupported dtype',
      "'shape' entry",
      "'data_offsets' must be two",
      'outside the data section',
      'needs',
      'overlap',
      'more elements than 2^53',
      "missing '",
    ]) {
      expect(outcomes.sawMessage(fragment), `no mutation produced "${fragment}"`).toBe(true);
    }
    expect(outcomes.accepted).toBeGreaterThan(0);
  }, 20_000);

  describe('through readSafetensorsFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'safetensors-fuzz-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('gives the same guarantees for files on disk', async () => {
      const outcomes = new Outcomes();
      const path = join(dir, 'mutated.safetensors');
      const cases: Uint8Array[] = [];
      for (let length = 0; length < base.length; length += 7) cases.push(base.subarray(0, length));
      for (let i = 0; i < 40; i++) cases.push(flipBytes(), withHeaderLength(), mutateJson());
      for (const [i, bytes] of cases.entries()) {
        writeFileSync(path, bytes);
        outcomes.record(`file case #${i}`, await readOutcome(path));
      }
      expect(outcomes.total).toBe(cases.length);
      expect(outcomes.messages.every((m) => m.startsWith(path))).toBe(true);
      expect(outcomes.arrayBufferGrowth).toBeLessThan(8 * 1024 * 1024);
    });
  });
});
