/**
 * Seeded fuzzing of everything LayerTracer reads from a user: weights files, PNG and JPEG images, and
 * command lines. A case is a mutation of a valid input chosen by (seed, index), so every failure
 * reproduces from two numbers. The oracle: the reader either returns a result that is internally
 * consistent, or throws one of the project's own errors that names the problem. Any other error type
 * (RangeError, TypeError, a raw zlib error) is a crash. CPU only (no GPU), so it can run under `nice`
 * beside other work: the weights are checked as far as loading goes before the upload (metadata,
 * architecture, dtypes, non-finite values).
 *
 * Used by the suite (test/hardening/fuzz.test.ts, a few thousand cases) and by `npm run fuzz`
 * (tools/fuzz/main.ts, 140,000 cases in a watched child process that reports hangs and peak memory).
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';
import { detectArchitecture } from '../../src/graph/architectures/registry.js';
import { defaultInfo, infoFromMetadata, metadataInputSize } from '../../src/graph/model-info.js';
import { fileWeights, WeightsError } from '../../src/graph/weights.js';
import { decodeImageBytes } from '../../src/image/decode-node.js';
import { encodePng } from '../../src/image/encode-node.js';
import { ImageDecodeError } from '../../src/image/errors.js';
import { pngRawBytes } from '../../src/image/budget.js';
import { parseSafetensors, SafetensorsError } from '../../src/io/safetensors.js';
import { UsageError } from '../../src/cli/errors.js';
import { parseOptions } from '../../src/cli/options.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { KernelInputError } from '../../src/gpu/errors.js';

export type Kind = 'weights' | 'png' | 'jpeg' | 'options';

export interface CaseResult {
  kind: Kind;
  index: number;
  /** accepted: read and consistent; refused: a project error; crash: anything else. */
  outcome: 'accepted' | 'refused' | 'crash';
  detail?: string;
}

/** mulberry32: a tiny seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  readonly next: () => number;
  constructor(seed: number, index: number) {
    this.next = rng((seed * 0x9e3779b1) ^ (index * 0x85ebca6b) ^ 0x5bd1e995);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Known refusals: the project's errors, which name the file and the problem. */
const KNOWN = [SafetensorsError, WeightsError, ImageDecodeError, UsageError, KernelInputError];
const isKnown = (err: unknown) => KNOWN.some((k) => err instanceof k) || (err instanceof Error && err.name === 'FeatureInputError');

function outcomeOf(kind: Kind, index: number, run: () => string | void): CaseResult {
  try {
    const problem = run();
    if (problem) return { kind, index, outcome: 'crash', detail: `accepted but inconsistent: ${problem}` };
    return { kind, index, outcome: 'accepted' };
  } catch (err) {
    if (isKnown(err)) return { kind, index, outcome: 'refused', detail: (err as Error).message.slice(0, 200) };
    return { kind, index, outcome: 'crash', detail: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err) };
  }
}

// ------------------------------------------------------------------------------------------ weights

export interface Bases {
  weights: Uint8Array[];
  png: Uint8Array[];
  jpeg: Uint8Array[];
}

/** The valid inputs the mutations start from: the repository's default models and a few generated images. */
export function loadBases(root: string): Bases {
  const weights = ['default-vgg.safetensors', 'default-resnet.safetensors'].map(
    (f) => new Uint8Array(readFileSync(`${root}/weights/${f}`)),
  );
  const r = new Random(1, 1);
  const pixels = (n: number) => Uint8Array.from({ length: n }, () => r.int(256));
  const png = [
    encodePng({ width: 32, height: 32, data: pixels(32 * 32 * 3) }),
    encodePng({ width: 7, height: 5, data: pixels(7 * 5 * 3) }),
    interlacedPng(13, 9, 2, 8, r),
    interlacedPng(16, 16, 0, 1, r),
    interlacedPng(10, 6, 6, 16, r),
  ];
  const jpeg = [
    encodeJpeg({ width: 32, height: 32, data: pixels(32 * 32 * 4) }, 85).data,
    encodeJpeg({ width: 17, height: 9, data: pixels(17 * 9 * 4) }, 30).data,
  ].map((b) => new Uint8Array(b));
  return { weights, png, jpeg };
}

const DTYPES = ['F32', 'F16', 'BF16', 'U8', 'I32', 'I64', 'F64', 'BOOL', '', 'f32'];
const HOSTILE_JSON = [
  '[100000, 100000]',
  '[0, 0]',
  '[-1, 64]',
  '[64.5, 64]',
  '[1e308, 1]',
  '"64"',
  '{',
  'null',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  '{"mean": [0, 0, 0], "std": [0, 0, 0]}',
  '{"mean": [NaN, 1, 1], "std": [1, 1, 1]}',
  '{"mean": [1e39, 1, 1], "std": [1, 1, 1]}',
  '["a", {"b": 1}]',
  JSON.stringify(Array.from({ length: 10 }, (_, i) => `c${i}`)),
  '1e9',
  '-5',
  'abc',
  '',
];

/** One mutation of a weights file: header text edits, metadata lies, byte flips, truncation. */
export function mutateWeights(base: Uint8Array, r: Random): Uint8Array {
  const view = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  let header = new TextDecoder().decode(base.subarray(8, 8 + headerLength));
  let data = base.slice(8 + headerLength);
  const ops = 1 + r.int(3);
  let lengthField: bigint | null = null;
  for (let k = 0; k < ops; k++) {
    switch (r.int(11)) {
      case 0: // a number in the header changes
        header = header.replace(/\d+/g, (m) => (r.chance(0.05) ? r.pick(['0', '1', '-1', '4294967296', '99999999999', m + m, '1e3']) : m));
        break;
      case 1: // a dtype changes
        header = header.replace(/"dtype":"[^"]*"/, () => `"dtype":"${r.pick(DTYPES)}"`);
        break;
      case 2: {
        // a metadata entry lies
        const key = r.pick(['input_size', 'normalize', 'classes', 'resize', 'architecture', 'depth', 'vgg_cfg', 'kind']);
        const value = JSON.stringify(r.pick(HOSTILE_JSON));
        header = header.includes(`"${key}":`)
          ? header.replace(new RegExp(`"${key}":"(?:[^"\\\\]|\\\\.)*"`), `"${key}":${value}`)
          : header.replace('"__metadata__":{', `"__metadata__":{"${key}":${value},`);
        break;
      }
      case 3: // header bytes flip
        for (let i = 0; i < 1 + r.int(4); i++) {
          const at = r.int(header.length);
          header = header.slice(0, at) + String.fromCharCode(r.int(128)) + header.slice(at + 1);
        }
        break;
      case 4: // data bytes flip: NaN, infinities, huge values, denormals
        for (let i = 0; i < 1 + r.int(16); i++) data[r.int(data.length)] = r.pick([0x7f, 0xff, 0x80, 0x00, r.int(256)]);
        break;
      case 5: // truncate or extend the data
        data = r.chance(0.5) ? data.slice(0, r.int(data.length)) : Uint8Array.from([...data.subarray(0, 64), ...data, 1, 2, 3]);
        break;
      case 6: // the length field lies
        lengthField = r.pick([0n, 7n, BigInt(headerLength + 1 + r.int(100)), 2n ** 63n, BigInt(r.int(headerLength))]);
        break;
      case 7: // a shape changes
        header = header.replace(
          /"shape":\[[^\]]*\]/,
          () => `"shape":[${Array.from({ length: r.int(5) }, () => r.pick([0, 1, 3, 64, 2 ** 31, 2 ** 53])).join(',')}]`,
        );
        break;
      case 8: // deep nesting somewhere in the header
        header = header.replace(/\{/, () => `{"deep":${'['.repeat(r.int(3000))}${']'.repeat(r.int(3000))},`);
        break;
      case 9: // a tensor disappears or is renamed
        header = header.replace(
          /"([a-z0-9_.:]+)":\{"dtype"/,
          (_, n: string) => `"${r.chance(0.5) ? `${n}x` : n.replace(/\d/, '9')}":{"dtype"`,
        );
        break;
      default: // offsets swap
        header = header.replace(/"data_offsets":\[(\d+),(\d+)\]/, (_, a: string, b: string) => `"data_offsets":[${b},${a}]`);
    }
  }
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The load path up to the GPU upload: parse, metadata, architecture, every parameter's dtype and values. */
export function checkWeights(bytes: Uint8Array, name: string): string | void {
  const file = parseSafetensors(bytes, name);
  const weights = fileWeights(file);
  const metadata = { ...file.metadata };
  const arch = detectArchitecture(weights, metadata, metadataInputSize(metadata, name) ?? [32, 32]);
  const info = infoFromMetadata(metadata, defaultInfo(arch.preprocessing, arch.numClasses), arch.name, name);
  if (!info.inputSize.every((d) => Number.isInteger(d) && d > 0) || !info.std.every((s) => s > 0))
    return `bad info ${JSON.stringify(info.inputSize)}`;
  for (const n of file.names()) {
    if (n.endsWith('num_batches_tracked')) continue;
    const values = weights.get(n, file.info(n).shape, 'fuzz');
    if (values.length !== file.info(n).shape.reduce((a, b) => a * b, 1)) return `tensor ${n} has ${values.length} values`;
  }
}

// ------------------------------------------------------------------------------------------ images

/** A valid interlaced PNG with random scanlines (any filter bytes 0..4 and any sample bytes decode). */
function interlacedPng(width: number, height: number, color: number, depth: number, r: Random): Uint8Array {
  const channels = { 0: 1, 2: 3, 6: 4 }[color as 0 | 2 | 6];
  const raw = Uint8Array.from({ length: pngRawBytes(width, height, channels * depth, true) }, () => r.int(256));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = color;
  ihdr[12] = 1;
  // Filter bytes must be 0..4: rewrite them where each scanline starts.
  let at = 0;
  const bpp = channels * depth;
  for (const [x0, y0, dx, dy] of [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ]) {
    const w = Math.ceil(Math.max(0, width - x0) / dx);
    const h = Math.ceil(Math.max(0, height - y0) / dy);
    if (!w || !h) continue;
    for (let y = 0; y < h; y++) {
      raw[at] = r.int(5);
      at += 1 + Math.ceil((w * bpp) / 8);
    }
  }
  return pngBytes(ihdr, [deflateSync(raw)]);
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, body.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  v.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function pngBytes(ihdr: Uint8Array, idat: Uint8Array[]): Uint8Array {
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk('IHDR', ihdr),
    ...idat.map((d) => chunk('IDAT', d)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One PNG mutation: header lies (with a valid CRC, so the lie reaches the decoder), bombs, byte flips, cuts. */
export function mutatePng(base: Uint8Array, r: Random): Uint8Array {
  const bytes = Uint8Array.from(base);
  const v = new DataView(bytes.buffer);
  switch (r.int(7)) {
    case 0:
    case 1: {
      // IHDR fields, CRC fixed up
      const field = r.int(5);
      if (field === 0) v.setUint32(16, r.pick([0, 1, 3, 1000, 65535, 100_000, 10_000_000, 2 ** 31, 2 ** 32 - 1]));
      if (field === 1) v.setUint32(20, r.pick([0, 1, 3, 1000, 65535, 100_000, 10_000_000, 2 ** 31, 2 ** 32 - 1]));
      if (field === 2) bytes[24] = r.pick([0, 1, 2, 4, 8, 16, 32, 255]);
      if (field === 3) bytes[25] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
      if (field === 4) bytes[28] = r.pick([0, 1, 2, 255]);
      v.setUint32(29, crc32(bytes.subarray(12, 29)));
      return bytes;
    }
    case 2: {
      // a decompression bomb or a short stream behind a valid header
      const ihdr = bytes.slice(16, 29);
      const size = r.pick([0, 1, 100, 10_000, 1_000_000, 30_000_000]);
      return pngBytes(ihdr, [deflateSync(new Uint8Array(size).fill(r.int(5)))]);
    }
    case 3:
      for (let i = 0; i < 1 + r.int(8); i++) bytes[33 + r.int(bytes.length - 33)] = r.int(256);
      return bytes;
    case 4:
      return bytes.slice(0, r.int(bytes.length));
    case 5: // a chunk length lies
      v.setUint32(33, r.pick([0, 1, 2 ** 31 - 1, 2 ** 32 - 1, r.int(1000)]));
      return bytes;
    default: // the stream is duplicated into several IDATs, or chunks are repeated
      return Uint8Array.from([
        ...bytes.subarray(0, bytes.length - 12),
        ...bytes.subarray(33, bytes.length - 12),
        ...bytes.subarray(bytes.length - 12),
      ]);
  }
}

/** One JPEG mutation: frame header lies, marker damage, entropy-data flips, cuts. */
export function mutateJpeg(base: Uint8Array, r: Random): Uint8Array {
  const bytes = Uint8Array.from(base);
  const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
  switch (r.int(6)) {
    case 0: {
      const v = new DataView(bytes.buffer);
      v.setUint16(sof + 5 + 2 * r.int(2), r.pick([0, 1, 8, 4000, 9000, 30000, 65535]));
      return bytes;
    }
    case 1: // sampling factors and component counts
      bytes[sof + 9 + 3 * r.int(3) + 1] = r.int(256);
      if (r.chance(0.3)) bytes[sof + 9] = r.int(8);
      return bytes;
    case 2: // a frame type jpeg-js does not decode, or a broken marker
      bytes[sof + 1] = r.pick([0xc1, 0xc2, 0xc3, 0xc5, 0xc9, 0xcb, 0xcf, 0xd9, 0xda]);
      return bytes;
    case 3:
      for (let i = 0; i < 1 + r.int(12); i++) bytes[r.int(bytes.length)] = r.int(256);
      return bytes;
    case 4:
      return bytes.slice(0, r.int(bytes.length));
    default: // a segment length lies
      bytes[4 + r.int(20)] = r.pick([0, 1, 0xff]);
      return bytes;
  }
}

function checkImage(bytes: Uint8Array, name: string): string | void {
  const img = decodeImageBytes(bytes, name);
  if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3)
    return `decoded ${img.width}x${img.height} with ${img.data.length} bytes`;
  if (img.width * img.height > 12e6) return `decoded ${img.width}x${img.height}, over the budget`;
  if (Math.max(img.width, img.height) > 100 * Math.min(img.width, img.height)) return `decoded a ${img.width}x${img.height} strip`;
}

// ------------------------------------------------------------------------------------------ options

const TOKENS = [
  '--',
  '-',
  '-h',
  '-1',
  '-0',
  '1e3',
  'NaN',
  'Infinity',
  '',
  ' ',
  '0x10',
  '1,2',
  '0-3',
  '5-2',
  'all',
  'jet',
  'x'.repeat(300),
  '\u0000',
  '3:1',
  ':',
  '0.5',
];

/** A command line of random option names (real and misspelt) and hostile values. */
function randomArgv(r: Random): { command: (typeof COMMANDS)[number]; argv: string[] } {
  const command = r.pick(COMMANDS);
  const names = Object.keys(command.options);
  const argv: string[] = [];
  for (let i = 0; i < 1 + r.int(6); i++) {
    const name = r.chance(0.9) ? r.pick(names) : `${r.pick(names)}x`;
    argv.push(r.chance(0.2) ? `--${name}=${r.pick(TOKENS)}` : `--${name}`);
    if (r.chance(0.8)) argv.push(r.chance(0.5) ? r.pick(TOKENS) : String((r.next() - 0.5) * 10 ** r.int(12)));
  }
  return { command, argv };
}

function checkOptions(command: (typeof COMMANDS)[number], argv: string[]): string | void {
  const { values, help } = parseOptions(command.options, argv);
  if (help) return;
  for (const [name, spec] of Object.entries(command.options)) {
    const v = (values as Record<string, unknown>)[name];
    const numbers =
      spec.type === 'int' || spec.type === 'number'
        ? [v]
        : spec.type === 'number-list' || spec.type === 'index-list'
          ? ((v as number[] | undefined) ?? [])
          : [];
    for (const n of numbers) if (n !== undefined && !Number.isFinite(n as number)) return `--${name} became ${n}`;
  }
}

// ------------------------------------------------------------------------------------------ cases

/** Case `index` of a kind, from the seed: deterministic, so a crash reproduces from (seed, kind, index). */
export function runCase(kind: Kind, seed: number, index: number, bases: Bases): CaseResult {
  const r = new Random(seed, index);
  const name = `${kind}#${index}`;
  switch (kind) {
    case 'weights': {
      const bytes = mutateWeights(r.pick(bases.weights), r);
      return outcomeOf(kind, index, () => checkWeights(bytes, name));
    }
    case 'png': {
      const bytes = mutatePng(r.pick(bases.png), r);
      return outcomeOf(kind, index, () => checkImage(bytes, name));
    }
    case 'jpeg': {
      const bytes = mutateJpeg(r.pick(bases.jpeg), r);
      return outcomeOf(kind, index, () => checkImage(bytes, name));
    }
    case 'options': {
      const { command, argv } = randomArgv(r);
      return outcomeOf(kind, index, () => checkOptions(command, argv));
    }
  }
}
