/**
 * Hostile and broken input files of every kind the CLI reads, written into a folder for the bad-input
 * table: weights (non-finite, integer, nested, truncated, lying metadata), images (bombs, short data,
 * lying headers, other formats, pipes), labelled sets and class means. Each is small and built from the
 * default VGG model or from scratch, deterministically.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';
import { generateSample, SYNTHETIC_CLASSES } from '../../src/data/synthetic/index.js';
import { encodePng } from '../../src/image/encode-node.js';
import { parseSafetensors, writeSafetensors, type TensorSpec } from '../../src/io/safetensors.js';
import { makePng } from '../image/png-fixtures.js';
import { VGG, VGG_MEANS } from '../cli/cli-fixtures.js';

export type Files = Record<string, string>;

// ------------------------------------------------------------------------------------------ PNG pieces

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, body: Uint8Array): Buffer {
  const typeAndBody = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndBody));
  return Buffer.concat([length, typeAndBody, crc]);
}

/** A PNG with any header fields and any IDAT body (already compressed or not). */
export function rawPng(opts: {
  width: number;
  height: number;
  depth?: number;
  color?: number;
  interlace?: number;
  idat: Uint8Array[];
}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(opts.width, 0);
  ihdr.writeUInt32BE(opts.height, 4);
  ihdr[8] = opts.depth ?? 8;
  ihdr[9] = opts.color ?? 2;
  ihdr[12] = opts.interlace ?? 0;
  return Buffer.concat([
    SIGNATURE,
    pngChunk('IHDR', ihdr),
    ...opts.idat.map((d) => pngChunk('IDAT', d)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A valid JPEG whose frame header is rewritten to claim another size (the data stays tiny). */
export function lyingJpeg(width: number, height: number): Buffer {
  const jpeg = Buffer.from(encodeJpeg({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 128) }, 80).data);
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return jpeg;
}

// ------------------------------------------------------------------------------------------ weights

function tensorsOf(path: string): { tensors: Record<string, TensorSpec>; metadata: Record<string, string> } {
  const file = parseSafetensors(readFileSync(path), path);
  const tensors: Record<string, TensorSpec> = {};
  for (const name of file.names()) {
    const t = file.get(name);
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: t.data.slice() as TensorSpec['data'] };
  }
  return { tensors, metadata: { ...file.metadata } };
}

/** A safetensors file with a raw header text and `data` bytes (for headers the writer would refuse). */
export function rawSafetensors(header: string, data = new Uint8Array(0)): Buffer {
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

export function makeHostileFiles(dir: string): Files {
  mkdirSync(dir, { recursive: true });
  const f: Files = {};
  const put = (name: string, bytes: Uint8Array | string) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    f[name.replace(/\W+/g, '_').toUpperCase()] = p;
    return p;
  };
  const vgg = () => tensorsOf(VGG);
  const save = (name: string, change: (w: ReturnType<typeof vgg>) => void) => {
    const w = vgg();
    change(w);
    put(name, writeSafetensors(w.tensors, w.metadata));
  };
  const setValue = (w: ReturnType<typeof vgg>, tensor: string, index: number, value: number) => {
    (w.tensors[tensor].data as Float32Array)[index] = value;
  };

  // Weights.
  save('nan.safetensors', (w) => setValue(w, 'features.3.weight', 17, NaN));
  save('inf.safetensors', (w) => setValue(w, 'classifier.bias', 2, Infinity));
  save('neg-inf.safetensors', (w) => setValue(w, 'features.0.bias', 0, -Infinity));
  save('huge-scale.safetensors', (w) => {
    for (const t of ['features.0.weight', 'features.3.weight', 'features.6.weight']) {
      const d = w.tensors[t].data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i] *= 1e30;
    }
  });
  save('int-weights.safetensors', (w) => {
    const t = w.tensors['features.0.weight'];
    w.tensors['features.0.weight'] = {
      dtype: 'I32',
      shape: t.shape,
      data: Int32Array.from(t.data as Float32Array, (v) => Math.round(v * 100)),
    };
  });
  save('i64-weights.safetensors', (w) => {
    const t = w.tensors['classifier.bias'];
    w.tensors['classifier.bias'] = { dtype: 'I64', shape: t.shape, data: BigInt64Array.from(t.data as Float32Array, () => 1n) };
  });
  save('u8-weights.safetensors', (w) => {
    const t = w.tensors['features.0.bias'];
    w.tensors['features.0.bias'] = { dtype: 'U8', shape: t.shape, data: new Uint8Array(t.shape[0]) };
  });
  save('missing-tensor.safetensors', (w) => delete w.tensors['features.6.weight']);
  save('wrong-shape.safetensors', (w) => {
    w.tensors['features.3.bias'] = { dtype: 'F32', shape: [31], data: new Float32Array(31) };
  });
  save('input-size-huge.safetensors', (w) => (w.metadata.input_size = '[100000, 100000]'));
  save('input-size-bad-json.safetensors', (w) => (w.metadata.input_size = '[64, 64'));
  save('input-size-negative.safetensors', (w) => (w.metadata.input_size = '[-64, 64]'));
  save('normalize-zero-std.safetensors', (w) => (w.metadata.normalize = '{"mean": [0.5, 0.5, 0.5], "std": [0, 1, 1]}'));
  save('normalize-strings.safetensors', (w) => (w.metadata.normalize = '{"mean": ["a", 0.5, 0.5], "std": [1, 1, 1]}'));
  save('classes-objects.safetensors', (w) => (w.metadata.classes = JSON.stringify(Array.from({ length: 10 }, () => ({ a: 1 })))));
  save('classes-count.safetensors', (w) => (w.metadata.classes = '["a", "b"]'));
  save('resize-huge.safetensors', (w) => (w.metadata.resize = '1000000000'));
  save('resize-nan.safetensors', (w) => (w.metadata.resize = 'abc'));
  save('arch-unknown.safetensors', (w) => (w.metadata.architecture = 'transformer_xl'));
  save('long-name.safetensors', (w) => {
    w.tensors['x'.repeat(200_000)] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
    delete w.tensors['features.0.bias'];
  });
  const deep = 200_000;
  put('deep-header.safetensors', rawSafetensors(`{"a":${'['.repeat(deep)}${']'.repeat(deep)}}`));
  put('deep-metadata.safetensors', rawSafetensors(`{"__metadata__":{"x":${'{"y":'.repeat(5000)}1${'}'.repeat(5000)}}}`));
  put('deep-entry.safetensors', rawSafetensors(`{"w":{"dtype":"F32","shape":${'['.repeat(100)}${']'.repeat(100)},"data_offsets":[0,0]}}`));
  const good = readFileSync(VGG);
  put('truncated.safetensors', good.subarray(0, good.length >> 1));
  put('header-only.safetensors', good.subarray(0, 8 + Number(good.readBigUInt64LE(0))));
  put('empty.safetensors', '');
  put('seven-bytes.safetensors', good.subarray(0, 7));
  put('absurd-length.safetensors', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7b, 0x7d]));
  put('not-json.safetensors', rawSafetensors('this is not json at all'));
  put('json-array.safetensors', rawSafetensors('[1,2,3]'));
  put(
    'bad-utf8.safetensors',
    Buffer.concat([rawSafetensors('{"a":"  "}').subarray(0, 8), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d, 0x20, 0x20])]),
  );
  put(
    'huge-shape.safetensors',
    rawSafetensors('{"w":{"dtype":"F32","shape":[1000000000,1000000000],"data_offsets":[0,4]}}', new Uint8Array(4)),
  );
  put('offsets-outside.safetensors', rawSafetensors('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8)));
  put(
    'overlap.safetensors',
    rawSafetensors(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      new Uint8Array(12),
    ),
  );
  put('unknown-dtype.safetensors', rawSafetensors('{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', new Uint8Array(4)));
  put('text.safetensors', 'hello, I am a text file\n');
  // 1.5 GiB on paper, nothing on disk: a sparse file past the weights size cap.
  const sparse = put('sparse-big.safetensors', good);
  truncateSync(sparse, 1.5 * 2 ** 30);
  put('png-as-weights.safetensors', encodePng({ width: 2, height: 2, data: new Uint8Array(12) }));

  // Images.
  const sample = generateSample(7, 3);
  put('good.png', encodePng({ width: 64, height: 64, data: sample.image }));
  put('big-header.png', rawPng({ width: 5000, height: 5000, idat: [deflateSync(Buffer.alloc(1000))] }));
  put('tall.png', rawPng({ width: 1, height: 10_000_000, idat: [deflateSync(Buffer.alloc(2000))] }));
  put('unfillable.png', rawPng({ width: 3000, height: 3000, idat: [deflateSync(Buffer.alloc(1000))] }));
  put('wide.png', rawPng({ width: 10_000_000, height: 1, depth: 1, color: 0, idat: [deflateSync(Buffer.alloc(100))] }));
  put('interlaced-bomb.png', rawPng({ width: 64, height: 64, interlace: 1, idat: [deflateSync(Buffer.alloc(20_000_000))] }));
  put('bomb.png', rawPng({ width: 256, height: 256, idat: [deflateSync(Buffer.alloc(50_000_000))] }));
  const noise = Buffer.from(Array.from({ length: 256 * 257 * 3 }, (_, i) => (i * 2654435761) >>> 24));
  put('short-data.png', rawPng({ width: 256, height: 256, idat: [deflateSync(noise.subarray(0, noise.length / 2))] }));
  put('short-interlaced.png', rawPng({ width: 256, height: 256, interlace: 1, idat: [deflateSync(noise.subarray(0, noise.length / 3))] }));
  put('cut-zlib.png', rawPng({ width: 64, height: 64, idat: [deflateSync(noise.subarray(0, 64 * 193)).subarray(0, 3000)] }));
  put('no-idat.png', rawPng({ width: 64, height: 64, idat: [] }));
  put('zero-width.png', rawPng({ width: 0, height: 64, idat: [deflateSync(Buffer.alloc(64))] }));
  put('bad-color.png', rawPng({ width: 4, height: 4, color: 5, idat: [deflateSync(Buffer.alloc(64))] }));
  put('bad-depth.png', rawPng({ width: 4, height: 4, color: 2, depth: 4, idat: [deflateSync(Buffer.alloc(64))] }));
  put(
    'chunk-overrun.png',
    Buffer.concat([
      rawPng({ width: 4, height: 4, idat: [] }).subarray(0, 33),
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x49, 0x44, 0x41, 0x54]),
    ]),
  );
  const goodPng = makePng({ width: 8, height: 8, colorType: 2, bitDepth: 8, rows: Array.from({ length: 8 }, () => new Uint8Array(24)) });
  const crcBroken = Buffer.from(goodPng);
  crcBroken[crcBroken.length - 20] ^= 0xff;
  put('crc-broken.png', crcBroken);
  put('jpeg-9000.jpg', lyingJpeg(9000, 9000));
  put('jpeg-3000.jpg', lyingJpeg(3000, 3000));
  const arithmetic = lyingJpeg(16, 16);
  arithmetic[arithmetic.indexOf(Buffer.from([0xff, 0xc0])) + 1] = 0xc9;
  put('arithmetic.jpg', arithmetic);
  const goodJpeg = Buffer.from(encodeJpeg({ width: 64, height: 64, data: Buffer.alloc(64 * 64 * 4, 77) }, 80).data);
  put('cut.jpg', goodJpeg.subarray(0, goodJpeg.length >> 1));
  put('jpeg-zero-size.jpg', lyingJpeg(0, 16));
  put('gif.png', 'GIF89a\x01\x00\x01\x00');
  put('webp.jpg', 'RIFF\x10\x00\x00\x00WEBPVP8 ');
  put('empty.png', '');
  put('text.png', 'not an image\n');
  put('pdf.png', '%PDF-1.4\n');
  mkdirSync(join(dir, 'folder.png'), { recursive: true });
  f.FOLDER_PNG = join(dir, 'folder.png');
  const fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  f.PIPE_PNG = fifo;

  // Labelled sets (64x64, the default models' size) and class means.
  const set = (name: string, count: number, change?: (t: Record<string, TensorSpec>, md: Record<string, string>) => void) => {
    const images = new Uint8Array(count * 64 * 64 * 3);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const s = generateSample(11, i);
      images.set(s.image, i * 64 * 64 * 3);
      labels[i] = s.label;
    }
    const tensors: Record<string, TensorSpec> = {
      images: { dtype: 'U8', shape: [count, 64, 64, 3], data: images },
      labels: { dtype: 'I32', shape: [count], data: labels },
    };
    const metadata: Record<string, string> = { classes: JSON.stringify(SYNTHETIC_CLASSES) };
    change?.(tensors, metadata);
    put(name, writeSafetensors(tensors, metadata));
  };
  set('set.safetensors', 24);
  set('set-label-out-of-range.safetensors', 12, (t) => ((t.labels.data as Int32Array)[5] = 99));
  set('set-label-negative.safetensors', 12, (t) => ((t.labels.data as Int32Array)[3] = -1));
  set('set-classes-bad-json.safetensors', 12, (_, md) => (md.classes = '["a", '));
  set('set-classes-objects.safetensors', 12, (_, md) => (md.classes = '[{"a": 1}]'));
  set('set-images-i32.safetensors', 4, (t) => (t.images = { dtype: 'I32', shape: [4, 64, 64, 3], data: new Int32Array(4 * 64 * 64 * 3) }));
  set('set-images-rank3.safetensors', 4, (t) => (t.images = { dtype: 'U8', shape: [4, 64, 192], data: new Uint8Array(4 * 64 * 192) }));
  set('set-labels-count.safetensors', 4, (t) => (t.labels = { dtype: 'I32', shape: [3], data: new Int32Array(3) }));
  set('set-labels-f32.safetensors', 4, (t) => (t.labels = { dtype: 'F32', shape: [4], data: new Float32Array(4) }));
  set('set-32px.safetensors', 4, (t) => (t.images = { dtype: 'U8', shape: [4, 32, 32, 3], data: new Uint8Array(4 * 32 * 32 * 3) }));
  set('set-no-labels.safetensors', 4, (t) => delete t.labels);
  mkdirSync(join(dir, 'empty-folder'));
  f.EMPTY_FOLDER = join(dir, 'empty-folder');
  const means = (name: string, change: (w: ReturnType<typeof vgg>) => void) => {
    const w = tensorsOf(VGG_MEANS);
    change(w);
    put(name, writeSafetensors(w.tensors, w.metadata));
  };
  means('means-nan.safetensors', (w) => ((w.tensors['means:features.5'].data as Float32Array)[3] = NaN));
  means('means-bad-exits.safetensors', (w) => (w.metadata.exits = '{"not": "a list"}'));
  means('means-exits-json.safetensors', (w) => (w.metadata.exits = '["features.2", '));
  means('means-kind.safetensors', (w) => (w.metadata.kind = 'something-else'));
  means('means-temp-zero.safetensors', (w) => ((w.tensors.temperatures.data as Float32Array)[1] = 0));
  means('means-shape.safetensors', (w) => (w.tensors['means:features.2'] = { dtype: 'F32', shape: [3, 16], data: new Float32Array(48) }));
  means('means-unknown-layer.safetensors', (w) => {
    w.metadata.exits = JSON.stringify(['features.99']);
    w.tensors['means:features.99'] = w.tensors['means:features.2'];
    w.tensors.temperatures = { dtype: 'F32', shape: [1], data: Float32Array.of(1) };
  });
  return f;
}
