import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  MAX_HEADER_BYTES,
  SafetensorsError,
  bf16ToF32,
  f16ToF32,
  fetchSafetensors,
  metadataJson,
  parseSafetensors,
  requireTensor,
  writeSafetensors,
  type HostTensor,
  type SafetensorsFile,
} from '../../src/io/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors-node.js';
import { cifarFile } from '../util/shared-data.js';

/** Hand-assembles a file, so a test controls the exact header text, the length field and the offsets. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthField?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Asserts that `action` throws a SafetensorsError whose message contains every word. */
function expectError(action: () => unknown, ...words: string[]): SafetensorsError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const message = (caught as Error).message;
  for (const word of words) expect(message).toContain(word);
  return caught as SafetensorsError;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('round trip', () => {
  const tensors: HostTensor[] = [
    { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3.25, 0, -0, 1e-30]) },
    { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc100, 0x7bff]) },
    { name: 'bf16', dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xc020]) },
    { name: 'u8', dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) },
    { name: 'i32', dtype: 'I32', shape: [2, 2], data: new Int32Array([-2147483648, -1, 0, 2147483647]) },
    { name: 'i64', dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 42n, 2n ** 62n]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([7]) },
  ];
  const metadata = { architecture: 'cifar_resnet', classes: '["cat","dog"]', empty: '' };
  const bytes = writeSafetensors(tensors, metadata);
  const file = parseSafetensors(bytes, 'round-trip.safetensors');

  it('preserves every dtype, shape, value and the metadata', () => {
    expect(file.source).toBe('round-trip.safetensors');
    expect(file.metadata).toEqual(metadata);
    expect(new Set(file.names())).toEqual(new Set(tensors.map((t) => t.name)));
    for (const t of tensors) {
      const back = file.get(t.name);
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(bytesOf(back.data)).toEqual(bytesOf(t.data));
      expect(file.info(t.name)).toEqual({ dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength });
    }
  });

  it('pads the header with spaces to a multiple of 8 and aligns tensors so reads are views', () => {
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(text).toMatch(/} *$/);
    expect(text.trimEnd().length).toBeGreaterThan(headerLength - 8);
    for (const name of file.names()) expect(file.get(name).data.buffer).toBe(bytes.buffer);
  });

  it('accepts a record of tensors as well as a list, and keeps integer-like names', () => {
    const back = parseSafetensors(writeSafetensors({ '10': tensors[3], '2': tensors[0] }));
    expect(back.getF32('10')).toEqual(new Float32Array([0, 1, 127, 128, 255]));
    expect(back.get('2').shape).toEqual([2, 3]);
  });

  it('converts every dtype to float32 with getF32', () => {
    expect(file.getF32('f32')).toEqual(new Float32Array([1, -2.5, 3.25, 0, -0, 1e-30]));
    expect(file.getF32('f16')).toEqual(new Float32Array([1, -2.5, 65504]));
    expect(file.getF32('bf16')).toEqual(new Float32Array([1, -2.5]));
    expect(file.getF32('u8')).toEqual(new Float32Array([0, 1, 127, 128, 255]));
    expect(file.getF32('i32')).toEqual(new Float32Array([-2147483648, -1, 0, 2147483647]));
    expect(file.getF32('i64')).toEqual(new Float32Array([-(2 ** 63), 42, 2 ** 62]));
  });

  it('handles empty tensors and an empty file', () => {
    const empty = parseSafetensors(
      writeSafetensors({
        a: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
        b: { dtype: 'I64', shape: [4, 0, 2], data: new BigInt64Array(0) },
        c: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      }),
    );
    expect(empty.get('a').shape).toEqual([0, 3]);
    expect(empty.getF32('a')).toHaveLength(0);
    expect(empty.getF32('b')).toHaveLength(0);
    expect(empty.info('b').byteLength).toBe(0);
    expect(empty.getF32('c')).toEqual(new Float32Array([1]));
    const nothing = parseSafetensors(writeSafetensors([]));
    expect(nothing.names()).toEqual([]);
    expect(nothing.metadata).toEqual({});
  });
});

describe('half-precision decoding', () => {
  it('decodes F16 bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc100, -2.5],
      [0x7bff, 65504], // largest finite half
      [0x0001, 2 ** -24], // smallest subnormal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x0400, 2 ** -14], // smallest normal
      [0x3555, 0.333251953125],
      [0x0000, 0],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    const out = f16ToF32(new Uint16Array(cases.map(([bits]) => bits)));
    cases.forEach(([, value], i) => expect(out[i]).toBe(value));
    const special = f16ToF32(new Uint16Array([0x8000, 0x7e00, 0xfe01]));
    expect(Object.is(special[0], -0)).toBe(true);
    expect(special[1]).toBeNaN();
    expect(special[2]).toBeNaN();
  });

  it('decodes BF16 bit patterns exactly', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc020, -2.5],
      [0x4049, 3.140625],
      [0x7f7f, 3.3895313892515355e38], // largest finite bf16
      [0x0001, 2 ** -133], // smallest subnormal
      [0x0080, 2 ** -126], // smallest normal
      [0x7f80, Infinity],
      [0xff80, -Infinity],
    ];
    const out = bf16ToF32(new Uint16Array(cases.map(([bits]) => bits)));
    cases.forEach(([, value], i) => expect(out[i]).toBe(value));
    const special = bf16ToF32(new Uint16Array([0x8000, 0x7fc0]));
    expect(Object.is(special[0], -0)).toBe(true);
    expect(special[1]).toBeNaN();
  });

  it('applies through getF32 on a file', () => {
    const file = parseSafetensors(
      writeSafetensors({
        h: { dtype: 'F16', shape: [4], data: new Uint16Array([0x0001, 0x7c00, 0x7e00, 0xbc00]) },
        b: { dtype: 'BF16', shape: [3], data: new Uint16Array([0x0001, 0xff80, 0x7fc0]) },
      }),
    );
    expect(Array.from(file.getF32('h'))).toEqual([2 ** -24, Infinity, NaN, -1]);
    expect(Array.from(file.getF32('b'))).toEqual([2 ** -133, -Infinity, NaN]);
  });
});

describe('alignment', () => {
  it('copies tensors whose offsets are not aligned, with the right values', () => {
    const data = new Uint8Array(1 + 8 + 16);
    data[0] = 9;
    new DataView(data.buffer).setFloat32(1, 1.5, true);
    new DataView(data.buffer).setFloat32(5, -3, true);
    new DataView(data.buffer).setBigInt64(9, -5n, true);
    new DataView(data.buffer).setBigInt64(17, 6n, true);
    const header = {
      b: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
      i: { dtype: 'I64', shape: [2], data_offsets: [9, 25] },
    };
    const file = parseSafetensors(rawFile(header, data));
    expect(file.getF32('f')).toEqual(new Float32Array([1.5, -3]));
    expect(file.get('i').data).toEqual(new BigInt64Array([-5n, 6n]));
    expect(file.get('b').data).toEqual(new Uint8Array([9]));
  });

  it('reads from a Uint8Array at an odd offset inside a larger buffer', () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const host = new Uint8Array(bytes.length + 3);
    host.set(bytes, 3);
    const file = parseSafetensors(host.subarray(3));
    expect(file.getF32('w')).toEqual(new Float32Array([1, 2, 3]));
    expect(parseSafetensors(bytes.slice().buffer).getF32('w')).toEqual(new Float32Array([1, 2, 3]));
  });
});

describe('bad input', () => {
  const f32 = (shape: unknown, data_offsets: unknown, dtype: unknown = 'F32') => ({ dtype, shape, data_offsets });
  const parse = (bytes: Uint8Array) => () => parseSafetensors(bytes, 'bad.safetensors');

  it('rejects files shorter than the length field', () => {
    expectError(parse(new Uint8Array(5)), 'bad.safetensors', 'only 5 bytes', 'export_weights.py');
  });

  it('rejects header lengths of 0, absurd, or beyond the file', () => {
    expectError(parse(rawFile({}, undefined, 0n)), 'bad.safetensors', 'header length is 0');
    expectError(parse(rawFile({}, undefined, BigInt(MAX_HEADER_BYTES) + 1n)), 'absurd');
    expectError(parse(rawFile({}, undefined, 2n ** 64n - 1n)), 'absurd');
    expectError(parse(rawFile({}, undefined, 3n)), 'beyond the file size');
  });

  it('rejects invalid UTF-8, invalid JSON and non-object headers', () => {
    const badUtf8 = rawFile('{"a":1}');
    badUtf8[10] = 0xff;
    expectError(parse(badUtf8), 'bad.safetensors', 'not valid UTF-8 JSON');
    expectError(parse(rawFile('{"a": ')), 'not valid UTF-8 JSON');
    expectError(parse(rawFile('[1, 2]')), 'must be a JSON object', '[1,2]');
    expectError(parse(rawFile('null')), 'must be a JSON object');
    expectError(parse(rawFile('42')), 'must be a JSON object');
  });

  it('rejects malformed entries, naming the tensor', () => {
    const data = new Uint8Array(16);
    const entry = (value: unknown) => parse(rawFile({ 'conv1.weight': value }, data));
    expectError(entry(7), "tensor 'conv1.weight'", 'must be an object');
    expectError(entry({ shape: [4], data_offsets: [0, 16] }), "tensor 'conv1.weight'", "missing 'dtype'");
    expectError(entry({ dtype: 'F32', data_offsets: [0, 16] }), "missing 'shape'");
    expectError(entry({ dtype: 'F32', shape: [4] }), "missing 'data_offsets'");
    expectError(entry(f32([4], [0, 16], 3)), "'dtype' must be a string");
    expectError(entry(f32('4', [0, 16])), "'shape' must be an array");
    expectError(entry(f32([-4], [0, 16])), "'shape' entry 0", 'non-negative integer');
    expectError(entry(f32([2, 1.5], [0, 16])), "'shape' entry 1");
    expectError(entry(f32([2 ** 60], [0, 16])), "'shape' entry 0");
    expectError(entry(f32([4], [0])), "'data_offsets' must be two");
    expectError(entry(f32([4], [-1, 15])), "'data_offsets' must be two");
    expectError(entry(f32([4], [0, 16.5])), "'data_offsets' must be two");
    expectError(entry(f32([0], [16, 0])), 'begin 16 is after end 0');
  });

  it('rejects unknown dtypes, listing the supported ones', () => {
    expectError(
      parse(rawFile({ w: f32([2], [0, 16], 'F64') }, new Uint8Array(16))),
      "tensor 'w'",
      'unsupported dtype "F64"',
      'F32, F16, BF16, U8, I32, I64',
      'export_weights.py',
    );
  });

  it('rejects a byte length that does not match the shape', () => {
    expectError(parse(rawFile({ w: f32([3], [0, 16]) }, new Uint8Array(16))), "tensor 'w'", 'needs 12 bytes', 'span 16');
  });

  it('rejects offsets outside the data section', () => {
    expectError(parse(rawFile({ w: f32([4], [8, 24]) }, new Uint8Array(16))), "tensor 'w'", 'outside the data section (16 bytes)');
  });

  it('rejects overlapping tensors, naming both', () => {
    const header = { a: f32([2], [0, 8]), b: f32([2], [4, 12]), c: f32([1], [12, 16]) };
    expectError(parse(rawFile(header, new Uint8Array(16))), "tensor 'b'", "overlap tensor 'a'");
    // An empty tensor inside another one also counts: no byte may belong to two entries' ranges.
    expectError(parse(rawFile({ a: f32([2], [0, 8]), e: f32([0], [4, 4]) }, new Uint8Array(8))), 'overlap');
  });

  it('rejects element counts beyond 2^53', () => {
    expectError(parse(rawFile({ w: f32([2 ** 30, 2 ** 30, 2 ** 30], [0, 16]) }, new Uint8Array(16))), 'more elements than 2^53');
  });

  it('rejects non-string metadata', () => {
    expectError(parse(rawFile({ __metadata__: { depth: 20 } })), "metadata 'depth' must be a string");
    expectError(parse(rawFile({ __metadata__: ['x'] })), "'__metadata__' must be an object");
    expect(parseSafetensors(rawFile({ __metadata__: null })).metadata).toEqual({});
  });

  it('names close matches for a missing tensor and both shapes for a wrong one', () => {
    const file = parseSafetensors(
      writeSafetensors({
        'module.conv1.weight': { dtype: 'F32', shape: [2, 1], data: new Float32Array(2) },
        'layer1.0.bn1.bias': { dtype: 'F32', shape: [2], data: new Float32Array(2) },
        'fc.bias': { dtype: 'F32', shape: [1], data: new Float32Array(1) },
      }),
      'model.safetensors',
    );
    expectError(
      () => requireTensor(file, 'conv1.weight'),
      'model.safetensors',
      "tensor 'conv1.weight'",
      'not found',
      "'module.conv1.weight'",
    );
    expectError(() => requireTensor(file, 'layer1.0.bn1.bais'), "did you mean 'layer1.0.bn1.bias'");
    const far = expectError(() => file.get('classifier.6.weight'), 'the file has 3 tensors');
    expect(far.tensor).toBe('classifier.6.weight');
    expectError(() => requireTensor(file, 'fc.bias', [10]), "tensor 'fc.bias'", 'has shape [1]', 'expects [10]');
    expect(requireTensor(file, 'fc.bias', [1])).toEqual({ dtype: 'F32', shape: [1], byteLength: 4 });
  });
});

describe('metadataJson', () => {
  const file = parseSafetensors(writeSafetensors([], { classes: '["cat","dog"]', broken: '[1,' }), 'm.safetensors');

  it('parses JSON-valued entries', () => {
    expect(metadataJson<string[]>(file, 'classes')).toEqual(['cat', 'dog']);
  });

  it('explains a missing or invalid entry', () => {
    expectError(() => metadataJson(file, 'normalize'), 'm.safetensors', "no 'normalize' entry", 'classes, broken');
    expectError(() => metadataJson(file, 'broken'), "metadata 'broken' is not valid JSON");
  });
});

describe('writer validation', () => {
  it('rejects mismatched data, duplicate or reserved names and non-string metadata', () => {
    expectError(
      () => writeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(3) } }),
      "tensor 'w'",
      'has 2 elements but the data has 3',
    );
    expectError(
      () => writeSafetensors({ w: { dtype: 'F16', shape: [2], data: new Float32Array(2) } }),
      'F16 data must be a Uint16Array, got Float32Array',
    );
    expectError(() => writeSafetensors({ w: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } }), 'shape entry 0');
    const t: HostTensor = { name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) };
    expectError(() => writeSafetensors([t, t]), "tensor 'x'", 'two tensors');
    expectError(() => writeSafetensors([{ ...t, name: '__metadata__' }]), 'reserved');
    expectError(() => writeSafetensors([], { depth: 20 as unknown as string }), "metadata 'depth' must be a string");
  });
});

describe('fetchSafetensors', () => {
  it('parses a fetched file and reports HTTP failures with the URL', async () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array([4]) } });
    const url = `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`;
    expect((await fetchSafetensors(url)).getF32('w')).toEqual(new Float32Array([4]));
    vi.stubGlobal('fetch', async () => new Response('nope', { status: 404, statusText: 'Not Found' }));
    try {
      await expect(fetchSafetensors('https://example.test/w.safetensors')).rejects.toThrow(/example\.test\/w\.safetensors.*HTTP 404/);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('Node file I/O', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tensors = { w: { dtype: 'F32' as const, shape: [2], data: new Float32Array([1, 2]) } };

  it('writes atomically, refuses to overwrite without force, and reads back', async () => {
    const path = join(dir, 'w.safetensors');
    await writeSafetensorsFile(path, tensors, { architecture: 'test' });
    expect((await readSafetensorsFile(path)).getF32('w')).toEqual(new Float32Array([1, 2]));
    await expect(writeSafetensorsFile(path, tensors)).rejects.toThrow(SafetensorsError);
    await expect(writeSafetensorsFile(path, tensors)).rejects.toThrow(new RegExp(`${path}.*already exists.*--force`));
    await writeSafetensorsFile(path, { w: { ...tensors.w, data: new Float32Array([3, 4]) } }, undefined, { force: true });
    const back = await readSafetensorsFile(path);
    expect(back.getF32('w')).toEqual(new Float32Array([3, 4]));
    expect(back.metadata).toEqual({});
    expect(readdirSync(dir)).toEqual(['w.safetensors']); // no temporary file left behind
  });

  it('leaves no file when the tensors are invalid or the directory is missing', async () => {
    const path = join(dir, 'invalid.safetensors');
    await expect(writeSafetensorsFile(path, { w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).rejects.toThrow(
      SafetensorsError,
    );
    expect(existsSync(path)).toBe(false);
    const noDir = join(dir, 'no-such-dir', 'w.safetensors');
    await expect(writeSafetensorsFile(noDir, tensors)).rejects.toThrow(new RegExp(`${noDir}.*cannot write.*directory exists`));
  });

  it('reports missing, truncated and corrupt files with the path', async () => {
    const missing = join(dir, 'missing.safetensors');
    await expect(readSafetensorsFile(missing)).rejects.toThrow(new RegExp(`${missing}.*no such file`));
    await expect(readSafetensorsFile(dir)).rejects.toThrow(/not a regular file/);
    const whole = writeSafetensors(tensors);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, whole.subarray(0, whole.length - 1));
    await expect(readSafetensorsFile(truncated)).rejects.toThrow(new RegExp(`${truncated}.*tensor 'w'.*outside the data section`));
    writeFileSync(truncated, whole.subarray(0, 20));
    await expect(readSafetensorsFile(truncated)).rejects.toThrow(/beyond the file size/);
    writeFileSync(truncated, whole.subarray(0, 3));
    await expect(readSafetensorsFile(truncated)).rejects.toThrow(/only 3 bytes/);
  });
});

// The shared CIFAR-10 data lives next to the repository (../shared/data/cifar10); it is never copied in.
// A checkout without it is broken, so these tests fail rather than skip (cifarFile throws).
const cifar = dirname(cifarFile('resnet20.safetensors'));

describe('real files in ../shared/data/cifar10', () => {
  it('reads resnet20.safetensors with its metadata, identically to the in-memory parser', async () => {
    const path = join(cifar, 'resnet20.safetensors');
    const file = await readSafetensorsFile(path);
    expect(file.source).toBe(path);
    expect(requireTensor(file, 'conv1.weight', [16, 3, 3, 3]).dtype).toBe('F32');
    expect(file.info('linear.weight').shape).toEqual([10, 64]);
    expect(file.metadata.architecture).toBe('cifar_resnet');
    expect(metadataJson<string[]>(file, 'classes')).toHaveLength(10);
    expect(metadataJson<{ mean: number[] }>(file, 'normalize').mean).toEqual([0.4914, 0.4822, 0.4465]);
    // The data section was read once, into its own buffer: not the whole file.
    const whole = readFileSync(path);
    const headerLength = Number(whole.readBigUInt64LE(0));
    expect(file.get('conv1.weight').data.buffer.byteLength).toBe(whole.length - 8 - headerLength);
    const inMemory = parseSafetensors(whole, path);
    expect(file.names()).toEqual(inMemory.names());
    for (const name of file.names()) {
      expect(Buffer.compare(bytesOf(file.getF32(name)), bytesOf(inMemory.getF32(name))), name).toBe(0);
    }
  });

  it('reads test1000.safetensors images and labels as U8', async () => {
    const file: SafetensorsFile = await readSafetensorsFile(join(cifar, 'test1000.safetensors'));
    const images = file.get('images');
    expect(images).toMatchObject({ dtype: 'U8', shape: [1000, 32, 32, 3] });
    expect(images.data).toBeInstanceOf(Uint8Array);
    expect(images.data).toHaveLength(1000 * 32 * 32 * 3);
    const labels = file.get('labels').data as Uint8Array;
    expect(labels).toHaveLength(1000);
    expect(Math.max(...labels)).toBe(9);
  });
});
