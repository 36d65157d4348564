/**
 * safetensors reader and writer, browser-safe (no Node imports; the file-system entry points live in
 * safetensors-node.ts).
 *
 * Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
 *   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
 * then the data section; data_offsets are relative to its start.
 *
 * The input is untrusted (downloaded weights, user files), so every size is validated against the
 * bytes actually present before anything is allocated from it, and every failure is a
 * SafetensorsError naming the source and the tensor.
 */
import { SafetensorsError } from './errors.js';

export { SafetensorsError } from './errors.js';

/** Tensor element types the safetensors reader and writer handle. */
export type DType = 'F32' | 'F16' | 'BF16' | 'U8' | 'I32' | 'I64';
/** F16 and BF16 tensors hold their raw bit patterns; getF32 decodes them. */
export type TensorData = Float32Array | Uint16Array | Uint8Array | Int32Array | BigInt64Array;

/** A named tensor in host memory, as read from or written to a safetensors file. */
export interface HostTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** What the writer takes: a tensor without its name (the name is the record key). */
export interface TensorSpec {
  dtype: DType;
  shape: readonly number[];
  data: TensorData;
}

/** Dtype, shape and size of one tensor of a safetensors file, from its header. */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  byteLength: number;
}

/** A parsed, validated safetensors file: its metadata and typed access to its tensors. */
export interface SafetensorsFile {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in data-section order. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The tensor in its stored dtype: a view over the file's bytes where alignment allows, else a copy. */
  get(name: string): HostTensor;
  /** The tensor as float32, decoding F16/BF16 and converting integer dtypes. An F32 tensor may be a view. */
  getF32(name: string): Float32Array;
}

/** One validated header entry; offsets are relative to the data section. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header, before the data section is attached (lets a file reader allocate only after validation). */
export interface SafetensorsHeader {
  source: string;
  metadata: Readonly<Record<string, string>>;
  /** Sorted by begin offset. */
  entries: readonly TensorEntry[];
  dataLength: number;
}

/** Same limit as tools/safetensors_io.py: a larger header means a corrupt length field, not a real model. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
export const LENGTH_FIELD_BYTES = 8;

const CORRUPT_HINT = 'the file is truncated or corrupt: re-download it or re-export it with tools/export_weights.py';
const METADATA_KEY = '__metadata__';

interface DTypeSpec {
  itemSize: number;
  /** Object.prototype.toString tag of the typed array that holds this dtype (robust across realms). */
  arrayTag: string;
  view(buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
}

// Typed arrays use the host byte order; every host WebGPU runs on is little-endian, as the format is.
const DTYPES: Record<DType, DTypeSpec> = {
  F32: { itemSize: 4, arrayTag: 'Float32Array', view: (b, o, n) => new Float32Array(b, o, n) },
  F16: { itemSize: 2, arrayTag: 'Uint16Array', view: (b, o, n) => new Uint16Array(b, o, n) },
  BF16: { itemSize: 2, arrayTag: 'Uint16Array', view: (b, o, n) => new Uint16Array(b, o, n) },
  U8: { itemSize: 1, arrayTag: 'Uint8Array', view: (b, o, n) => new Uint8Array(b, o, n) },
  I32: { itemSize: 4, arrayTag: 'Int32Array', view: (b, o, n) => new Int32Array(b, o, n) },
  I64: { itemSize: 8, arrayTag: 'BigInt64Array', view: (b, o, n) => new BigInt64Array(b, o, n) },
};

export const SUPPORTED_DTYPES = Object.keys(DTYPES) as readonly DType[];

function isDType(value: string): value is DType {
  return Object.hasOwn(DTYPES, value);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Parses a whole safetensors file held in memory. Tensors are views over `bytes` where aligned. */
export function parseSafetensors(bytes: ArrayBuffer | Uint8Array, source = '<memory>'): SafetensorsFile {
  const all = ArrayBuffer.isView(bytes) ? bytes : new Uint8Array(bytes);
  const headerLength = readHeaderLength(all, all.byteLength, source);
  const dataStart = LENGTH_FIELD_BYTES + headerLength;
  const header = parseHeader(all.subarray(LENGTH_FIELD_BYTES, dataStart), all.byteLength - dataStart, source);
  return attachData(header, all.subarray(dataStart));
}

/** Fetches and parses a safetensors file (browser or Node >= 18). */
export async function fetchSafetensors(
  url: string | URL,
  init?: RequestInit,
  options: { maxBytes?: number } = {},
): Promise<SafetensorsFile> {
  const source = String(url);
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    throw new SafetensorsError(source, `download failed (${errorText(cause)}); check the URL and the network`, undefined, { cause });
  }
  if (!response.ok) {
    throw new SafetensorsError(source, `download failed with HTTP ${response.status} ${response.statusText}; check the URL`);
  }
  // Refused by its declared size before the body is read, and by its real size after.
  const declared = Number(response.headers.get('content-length'));
  if (options.maxBytes !== undefined && declared > options.maxBytes) throw tooLarge(source, declared, options.maxBytes);
  const body = await response.arrayBuffer();
  if (options.maxBytes !== undefined && body.byteLength > options.maxBytes) throw tooLarge(source, body.byteLength, options.maxBytes);
  return parseSafetensors(body, source);
}

/** The error for a file over the size its kind can need. */
export function tooLarge(source: string, bytes: number, maxBytes: number): SafetensorsError {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  return new SafetensorsError(source, `is ${gib(bytes)}, over the ${gib(maxBytes)} this kind of file can need; is it the right file?`);
}

/**
 * Decodes and validates the 8-byte header-length field. `fileSize` is checked first, so `prefix`
 * may be shorter than 8 bytes when the file is.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < LENGTH_FIELD_BYTES) {
    throw new SafetensorsError(source, `file is only ${fileSize} bytes, shorter than the 8-byte header-length field; ${CORRUPT_HINT}`);
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_FIELD_BYTES).getBigUint64(0, true);
  if (length === 0n) {
    throw new SafetensorsError(source, `header length is 0, so there is no JSON header; ${CORRUPT_HINT}`);
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      source,
      `header length ${length} bytes is absurd (limit ${MAX_HEADER_BYTES}): not a safetensors file, or ${CORRUPT_HINT}`,
    );
  }
  if (length > BigInt(fileSize - LENGTH_FIELD_BYTES)) {
    throw new SafetensorsError(source, `header length ${length} bytes runs beyond the file size (${fileSize} bytes); ${CORRUPT_HINT}`);
  }
  return Number(length);
}

/** Validates the JSON header against a data section of `dataLength` bytes. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): SafetensorsHeader {
  const json = decodeHeaderJson(headerBytes, source);
  const metadata = parseMetadata(json[METADATA_KEY], source);
  const entries = Object.entries(json)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => parseEntry(name, raw, dataLength, source))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkNoOverlap(entries, source);
  return { source, metadata, entries, dataLength };
}

/** Joins a validated header with its data section (which must be exactly header.dataLength bytes). */
export function attachData(header: SafetensorsHeader, data: Uint8Array): SafetensorsFile {
  if (data.byteLength !== header.dataLength) {
    throw new SafetensorsError(header.source, `data section is ${data.byteLength} bytes, expected ${header.dataLength}; ${CORRUPT_HINT}`);
  }
  return new ParsedFile(header, data);
}

/** A real header nests three levels ({name: {shape: [...]}}); far deeper is an attack on the parser. */
const MAX_HEADER_NESTING = 32;

/** The first nesting depth over the limit, scanning the raw bytes (strings skipped), or 0 when within it. */
function excessiveNesting(bytes: Uint8Array): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > MAX_HEADER_NESTING) return depth;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return 0;
}

function decodeHeaderJson(headerBytes: Uint8Array, source: string): Record<string, unknown> {
  if (excessiveNesting(headerBytes)) {
    throw new SafetensorsError(
      source,
      `header is nested more than ${MAX_HEADER_NESTING} levels deep (a safetensors header has 3): not a weights file, or ${CORRUPT_HINT}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (cause) {
    // TextDecoder throws TypeError on bad UTF-8, JSON.parse SyntaxError; both mean a corrupt header.
    throw new SafetensorsError(source, `header is not valid UTF-8 JSON (${errorText(cause)}); ${CORRUPT_HINT}`, undefined, { cause });
  }
  if (!isObject(json)) {
    throw new SafetensorsError(source, `header must be a JSON object, got ${describe(json)}; ${CORRUPT_HINT}`);
  }
  return json;
}

function parseMetadata(raw: unknown, source: string): Readonly<Record<string, string>> {
  // Some writers emit "__metadata__": null for "no metadata"; that is harmless, so accept it.
  if (raw === undefined || raw === null) return Object.freeze({});
  if (!isObject(raw)) {
    throw new SafetensorsError(source, `'${METADATA_KEY}' must be an object of string values, got ${describe(raw)}; ${CORRUPT_HINT}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        source,
        `metadata '${key}' must be a string (store structured values as JSON text), got ${describe(value)}; re-export with tools/export_weights.py`,
      );
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays plain data.
  return Object.freeze(Object.fromEntries(Object.entries(raw as Record<string, string>)));
}

function parseEntry(name: string, raw: unknown, dataLength: number, source: string): TensorEntry {
  const fail = (detail: string) => new SafetensorsError(source, `${detail}; ${CORRUPT_HINT}`, name);
  if (!isObject(raw)) throw fail(`header entry must be an object with dtype, shape and data_offsets, got ${describe(raw)}`);
  const dtype = parseDType(raw.dtype, source, name);
  const shape = parseShape(raw.shape, fail);
  const [begin, end] = parseOffsets(raw.data_offsets, fail);
  if (end > dataLength) {
    throw fail(`data_offsets [${begin}, ${end}] lie outside the data section (${dataLength} bytes)`);
  }
  const count = elementCount(shape, fail);
  // count <= 2^53 and itemSize is a power of two, so the product is exact.
  const expected = count * DTYPES[dtype].itemSize;
  if (expected !== end - begin) {
    throw fail(`shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape, begin, end };
}

function parseDType(raw: unknown, source: string, name: string): DType {
  if (raw === undefined) throw new SafetensorsError(source, `missing 'dtype'; ${CORRUPT_HINT}`, name);
  if (typeof raw !== 'string') {
    throw new SafetensorsError(source, `'dtype' must be a string such as "F32", got ${describe(raw)}; ${CORRUPT_HINT}`, name);
  }
  if (!isDType(raw)) {
    throw new SafetensorsError(
      source,
      `unsupported dtype ${describe(raw)}; supported dtypes are ${SUPPORTED_DTYPES.join(', ')}: re-export with tools/export_weights.py, which writes F32`,
      name,
    );
  }
  return raw;
}

function parseShape(raw: unknown, fail: (detail: string) => SafetensorsError): number[] {
  if (raw === undefined) throw fail(`missing 'shape'`);
  if (!Array.isArray(raw)) throw fail(`'shape' must be an array of non-negative integers, got ${describe(raw)}`);
  raw.forEach((dim: unknown, i) => {
    if (!isNonNegativeInteger(dim)) throw fail(`'shape' entry ${i} is ${describe(dim)}, not a non-negative integer`);
  });
  return raw as number[];
}

function parseOffsets(raw: unknown, fail: (detail: string) => SafetensorsError): [number, number] {
  if (raw === undefined) throw fail(`missing 'data_offsets'`);
  if (!Array.isArray(raw) || raw.length !== 2 || !raw.every(isNonNegativeInteger)) {
    throw fail(`'data_offsets' must be two non-negative integers [begin, end], got ${describe(raw)}`);
  }
  const [begin, end] = raw as [number, number];
  if (begin > end) throw fail(`'data_offsets' begin ${begin} is after end ${end}`);
  return [begin, end];
}

function elementCount(shape: readonly number[], fail: (detail: string) => SafetensorsError): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const dim of shape) {
    if (count > Number.MAX_SAFE_INTEGER / dim) {
      throw fail(`shape [${shape.join(', ')}] has more elements than 2^53`);
    }
    count *= dim;
  }
  return count;
}

/** Entries are sorted by begin; any start before the previous end is an overlap. */
function checkNoOverlap(entries: readonly TensorEntry[], source: string): void {
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1];
    const current = entries[i];
    if (current.begin < previous.end) {
      throw new SafetensorsError(
        source,
        `data_offsets [${current.begin}, ${current.end}] overlap tensor '${previous.name}' at [${previous.begin}, ${previous.end}]; ${CORRUPT_HINT}`,
        current.name,
      );
    }
  }
}

class ParsedFile implements SafetensorsFile {
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly entries: Map<string, TensorEntry>;

  constructor(
    header: SafetensorsHeader,
    private readonly data: Uint8Array,
  ) {
    this.source = header.source;
    this.metadata = header.metadata;
    this.entries = new Map(header.entries.map((e) => [e.name, e]));
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const entry = this.entry(name);
    return { dtype: entry.dtype, shape: [...entry.shape], byteLength: entry.end - entry.begin };
  }

  get(name: string): HostTensor {
    const entry = this.entry(name);
    return { name, dtype: entry.dtype, shape: [...entry.shape], data: tensorData(entry, this.data) };
  }

  getF32(name: string): Float32Array {
    const { dtype, data } = this.get(name);
    return toFloat32(dtype, data);
  }

  private entry(name: string): TensorEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) throw missingTensorError(this.source, this.names(), name);
    return entry;
  }
}

function tensorData(entry: TensorEntry, data: Uint8Array): TensorData {
  const { itemSize, view } = DTYPES[entry.dtype];
  const length = (entry.end - entry.begin) / itemSize;
  const byteOffset = data.byteOffset + entry.begin;
  // Typed arrays require an offset aligned to the element size; an unaligned tensor is copied out.
  if (byteOffset % itemSize === 0) return view(data.buffer, byteOffset, length);
  return view(data.slice(entry.begin, entry.end).buffer, 0, length);
}

function toFloat32(dtype: DType, data: TensorData): Float32Array {
  switch (dtype) {
    case 'F32':
      return data as Float32Array;
    case 'F16':
      return f16ToF32(data as Uint16Array);
    case 'BF16':
      return bf16ToF32(data as Uint16Array);
    case 'I64':
      return Float32Array.from(data as BigInt64Array, (v) => Number(v));
    case 'U8':
    case 'I32':
      return Float32Array.from(data as Uint8Array | Int32Array);
  }
}

// ---------------------------------------------------------------------------------------------
// Half-precision decoding

let f16Table: Float32Array | undefined;

/** IEEE binary16 bit patterns -> float32 (exact: every half is representable as a float). */
export function f16ToF32(bits: Uint16Array): Float32Array {
  // A 65536-entry table (256 KiB, built once) beats per-element bit twiddling on large weights.
  f16Table ??= buildF16Table();
  const table = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfToNumber(h);
  return table;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 bit patterns -> float32: bf16 is the top half of a float32, so shift the bits into place. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Serialises tensors to safetensors bytes. Tensors are laid out by element size (largest first),
 * then name, and the header is space-padded to a multiple of 8 bytes (as the Rust crate does), so
 * every tensor is naturally aligned and readers can view it without copying.
 * `source` only labels errors (the Node writer passes the target path).
 */
export function writeSafetensors(
  tensors: Readonly<Record<string, TensorSpec>> | readonly HostTensor[],
  metadata?: Readonly<Record<string, string>>,
  source = '<memory>',
): Uint8Array {
  const named = namedTensors(tensors, source);
  named.forEach((t) => validateTensorSpec(t, source));
  if (metadata !== undefined) validateMetadata(metadata, source);
  const layout = [...named].sort(
    (a, b) => DTYPES[b.dtype].itemSize - DTYPES[a.dtype].itemSize || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const { header, dataLength } = encodeHeader(layout, metadata);
  if (header.byteLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      source,
      `header would be ${header.byteLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce; shorten the metadata`,
    );
  }
  const out = new Uint8Array(LENGTH_FIELD_BYTES + header.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  out.set(header, LENGTH_FIELD_BYTES);
  let offset = LENGTH_FIELD_BYTES + header.byteLength;
  for (const { data } of layout) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  return out;
}

function namedTensors(tensors: Readonly<Record<string, TensorSpec>> | readonly HostTensor[], source: string): HostTensor[] {
  const list: HostTensor[] = Array.isArray(tensors)
    ? tensors.map((t) => ({ ...t, shape: [...t.shape] }))
    : Object.entries(tensors as Record<string, TensorSpec>).map(([name, t]) => ({ ...t, name, shape: [...t.shape] }));
  const seen = new Set<string>();
  for (const { name } of list) {
    if (name === METADATA_KEY) throw new SafetensorsError(source, `'${METADATA_KEY}' is reserved and cannot name a tensor`, name);
    if (seen.has(name)) throw new SafetensorsError(source, 'the same name is given to two tensors', name);
    seen.add(name);
  }
  return list;
}

function validateTensorSpec(tensor: HostTensor, source: string): void {
  const fail = (detail: string) => new SafetensorsError(source, detail, tensor.name);
  if (!isDType(tensor.dtype))
    throw fail(`unsupported dtype ${describe(tensor.dtype)}; supported dtypes are ${SUPPORTED_DTYPES.join(', ')}`);
  const { arrayTag } = DTYPES[tensor.dtype];
  const tag = Object.prototype.toString.call(tensor.data).slice(8, -1);
  if (tag !== arrayTag) throw fail(`${tensor.dtype} data must be a ${arrayTag}, got ${tag}`);
  tensor.shape.forEach((dim, i) => {
    if (!isNonNegativeInteger(dim)) throw fail(`shape entry ${i} is ${describe(dim)}, not a non-negative integer`);
  });
  const count = elementCount(tensor.shape, fail);
  if (count !== tensor.data.length) {
    throw fail(`shape [${tensor.shape.join(', ')}] has ${count} elements but the data has ${tensor.data.length}`);
  }
}

function validateMetadata(metadata: Readonly<Record<string, string>>, source: string): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(source, `metadata '${key}' must be a string (JSON.stringify structured values), got ${describe(value)}`);
    }
  }
}

function encodeHeader(
  layout: readonly HostTensor[],
  metadata: Readonly<Record<string, string>> | undefined,
): { header: Uint8Array; dataLength: number } {
  // Built entry by entry because a JS object would reorder integer-like tensor names.
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let dataLength = 0;
  for (const { name, dtype, shape, data } of layout) {
    const offsets = [dataLength, dataLength + data.byteLength];
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: offsets })}`);
    dataLength += data.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20); // 0x20: space
  padded.set(json);
  return { header: padded, dataLength };
}

// ---------------------------------------------------------------------------------------------
// Helpers for model builders

/**
 * Checks that `name` exists (else the error lists close names, e.g. a missing `module.` prefix or a
 * typo) and, when given, that its shape equals `expectedShape`. Returns the tensor's info.
 */
export function requireTensor(file: SafetensorsFile, name: string, expectedShape?: readonly number[]): TensorInfo {
  if (!file.has(name)) throw missingTensorError(file.source, file.names(), name);
  const info = file.info(name);
  if (expectedShape !== undefined && !sameShape(info.shape, expectedShape)) {
    throw new SafetensorsError(
      file.source,
      `has shape [${info.shape.join(', ')}] but the model expects [${expectedShape.join(', ')}]; the weights do not match this architecture: check the architecture metadata, or re-export with tools/export_weights.py`,
      name,
    );
  }
  return info;
}

/** Parses a metadata entry that holds JSON text (e.g. "classes", "normalize"). */
export function metadataJson<T>(file: SafetensorsFile, key: string): T {
  if (!Object.hasOwn(file.metadata, key)) {
    const keys = Object.keys(file.metadata);
    throw new SafetensorsError(
      file.source,
      `metadata has no '${key}' entry (it has: ${keys.length > 0 ? keys.join(', ') : 'none'}); re-export with tools/export_weights.py, which writes it`,
    );
  }
  const text = file.metadata[key];
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new SafetensorsError(
      file.source,
      `metadata '${key}' is not valid JSON (${errorText(cause)}): ${describe(text)}; re-export with tools/export_weights.py`,
      undefined,
      { cause },
    );
  }
}

function missingTensorError(source: string, names: readonly string[], name: string): SafetensorsError {
  const close = closeNames(name, names);
  const hint =
    close.length > 0
      ? `did you mean ${close.map((n) => `'${n}'`).join(', ')}?`
      : `the file has ${names.length} tensors${
          names.length > 0
            ? `, e.g. ${names
                .slice(0, 5)
                .map((n) => `'${n}'`)
                .join(', ')}`
            : ''
        }`;
  return new SafetensorsError(
    source,
    `not found; ${hint} Check the layer name or re-export the weights with tools/export_weights.py`,
    name,
  );
}

const MAX_SUGGESTIONS = 5;

/** Names that contain / are contained in `name` (a `module.` prefix, a missing `.weight`) or are a few edits away. */
function closeNames(name: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return candidates
    .map((candidate) => ({
      candidate,
      distance: candidate.includes(name) || name.includes(candidate) ? 0 : editDistance(name, candidate, limit),
    }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance || Math.abs(a.candidate.length - name.length) - Math.abs(b.candidate.length - name.length))
    .slice(0, MAX_SUGGESTIONS)
    .map(({ candidate }) => candidate);
}

/** Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j] + 1, current[j - 1] + 1));
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * A short, printable rendering of an untrusted JSON value for error messages. Never JSON.stringify the
 * whole value: a header nested a million levels deep would overflow the stack in the error path. Depth
 * and breadth are capped, so the work is bounded whatever the input.
 */
export function describe(value: unknown): string {
  const text = preview(value, 3);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function preview(value: unknown, depth: number): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' || value === null) return String(value);
  if (depth === 0) return Array.isArray(value) ? '[...]' : '{...}';
  if (Array.isArray(value)) {
    const items = value.slice(0, 4).map((v) => preview(v, depth - 1));
    return `[${items.join(',')}${value.length > 4 ? ',...' : ''}]`;
  }
  const keys = Object.keys(value);
  const items = keys
    .slice(0, 4)
    .map((k) => `${JSON.stringify(k.slice(0, 30))}:${preview((value as Record<string, unknown>)[k], depth - 1)}`);
  return `{${items.join(',')}${keys.length > 4 ? ',...' : ''}}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
