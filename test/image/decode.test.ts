import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageBytes, readImageFile } from '../../src/image/decode-node.js';
import { encodePng, writePng } from '../../src/image/encode-node.js';
import { ImageDecodeError } from '../../src/image/errors.js';
import { detectImageFormat } from '../../src/image/format.js';
import type { RgbImage } from '../../src/image/image.js';
import { makePng, pngHeaderOnly } from './png-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layertracer-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Deterministic pseudo-random pixels (no Math.random: failures must reproduce). */
function noiseImage(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

/** Catches the rejection so its type and message can be checked together. */
async function decodeFailure(promise: Promise<unknown>): Promise<ImageDecodeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageDecodeError);
  return err as ImageDecodeError;
}

describe('PNG decoding', () => {
  it('round-trips an RGB image through writePng and readImageFile exactly', async () => {
    const img = noiseImage(17, 11);
    const path = join(dir, 'roundtrip.png');
    await writePng(path, img);
    const back = await readImageFile(path);
    expect(back.width).toBe(17);
    expect(back.height).toBe(11);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });

  it('decodes 8-bit greyscale written by pngjs to equal R=G=B', async () => {
    const png = new PNG({ width: 3, height: 1 });
    png.data = Buffer.from([0, 128, 255]);
    const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
    const img = decodeImageBytes(bytes, 'grey.png');
    expect([...img.data]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('composites RGBA written by pngjs over white', async () => {
    const png = new PNG({ width: 3, height: 1 });
    png.data = Buffer.from([200, 100, 50, 255, 200, 100, 50, 0, 0, 0, 0, 128]);
    const img = decodeImageBytes(PNG.sync.write(png), 'rgba.png');
    // opaque unchanged; transparent -> white; black at alpha 128/255 -> 127.
    expect([...img.data]).toEqual([200, 100, 50, 255, 255, 255, 127, 127, 127]);
  });

  it('rescales 16-bit samples to 8 bits with rounding', () => {
    const row = Buffer.alloc(12);
    [0x0000, 0xffff, 0x8080, 0x1234, 0x7fff, 0x0101].forEach((v, i) => row.writeUInt16BE(v, 2 * i));
    const img = decodeImageBytes(makePng({ width: 2, height: 1, colorType: 2, bitDepth: 16, rows: [row] }), 'deep.png');
    expect([...img.data]).toEqual([0, 255, 128, 18, 127, 1]);
  });

  it('expands a palette, with tRNS alpha composited over white', () => {
    const img = decodeImageBytes(
      makePng({
        width: 2,
        height: 2,
        colorType: 3,
        bitDepth: 8,
        rows: [Uint8Array.of(0, 1), Uint8Array.of(2, 3)],
        palette: [
          [255, 0, 0],
          [0, 255, 0],
          [0, 0, 255],
          [10, 20, 30],
        ],
        trns: Uint8Array.of(255, 255, 128, 0),
      }),
      'palette.png',
    );
    expect([...img.data]).toEqual([255, 0, 0, 0, 255, 0, 127, 127, 255, 255, 255, 255]);
  });

  it('decodes a 2-bit palette and a 1-bit greyscale image', () => {
    const pal = decodeImageBytes(
      makePng({
        width: 4,
        height: 1,
        colorType: 3,
        bitDepth: 2,
        rows: [Uint8Array.of(0b00011011)],
        palette: [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
          [10, 11, 12],
        ],
      }),
      'pal2.png',
    );
    expect([...pal.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const bw = decodeImageBytes(makePng({ width: 3, height: 1, colorType: 0, bitDepth: 1, rows: [Uint8Array.of(0b10100000)] }), 'bw.png');
    expect([...bw.data]).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255]);
  });

  it('decodes 16-bit grey+alpha', () => {
    const row = Buffer.alloc(8);
    [0x0000, 0xffff, 0x0000, 0x0000].forEach((v, i) => row.writeUInt16BE(v, 2 * i));
    const img = decodeImageBytes(makePng({ width: 2, height: 1, colorType: 4, bitDepth: 16, rows: [row] }), 'ga16.png');
    expect([...img.data]).toEqual([0, 0, 0, 255, 255, 255]);
  });
});

describe('JPEG decoding', () => {
  it('decodes a jpeg-js encoded image within JPEG tolerance', async () => {
    const w = 32;
    const h = 24;
    const rgba = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = 4 * (y * w + x);
        rgba.set([x * 8, y * 10, 128, 255], i);
      }
    }
    const path = await fileWith('smooth.jpg', encodeJpeg({ width: w, height: h, data: rgba }, 95).data);
    const img = await readImageFile(path);
    expect([img.width, img.height, img.data.length]).toEqual([w, h, w * h * 3]);
    let worst = 0;
    let total = 0;
    for (let p = 0; p < w * h; p++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(img.data[3 * p + c] - rgba[4 * p + c]);
        worst = Math.max(worst, d);
        total += d;
      }
    }
    expect(total / (w * h * 3)).toBeLessThan(2);
    expect(worst).toBeLessThan(16);
  });
});

describe('format detection', () => {
  it('goes by magic bytes, not the extension', async () => {
    const img = noiseImage(4, 3);
    const path = await fileWith('actually-a-png.jpg', encodePng(img));
    expect(Buffer.from((await readImageFile(path)).data).equals(Buffer.from(img.data))).toBe(true);
  });

  it('names formats it recognises but cannot decode', () => {
    const gif = detectImageFormat(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
    expect(gif).toEqual({ format: 'unsupported', description: 'a GIF file' });
    const webp = detectImageFormat(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'));
    expect(webp).toEqual({ format: 'unsupported', description: 'a WebP file' });
  });
});

describe('decode errors', () => {
  it('reports a missing file with its path', async () => {
    const path = join(dir, 'nope.png');
    const err = await decodeFailure(readImageFile(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('no such file');
  });

  it('reports a directory given as an image', async () => {
    const sub = join(dir, 'a-folder');
    await mkdir(sub);
    expect((await decodeFailure(readImageFile(sub))).message).toContain('directory');
  });

  it('names the detected content and the supported formats for a non-image', async () => {
    const path = await fileWith('notes.png', 'hello, I am text\n');
    const err = await decodeFailure(readImageFile(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('unsupported format');
    expect(err.message).toContain('text starting "hello, I"');
    expect(err.message).toContain('PNG and JPEG');
  });

  it('names a GIF and an empty file', async () => {
    expect((await decodeFailure(readImageFile(await fileWith('anim.jpg', 'GIF89a....')))).message).toContain('a GIF file');
    expect((await decodeFailure(readImageFile(await fileWith('empty.png', '')))).message).toContain('an empty file');
  });

  it('reports truncated and corrupt PNG data', async () => {
    const good = encodePng(noiseImage(16, 16));
    const truncated = await decodeFailure(readImageFile(await fileWith('cut.png', good.subarray(0, good.length >> 1))));
    expect(truncated.message).toMatch(/cut\.png.*truncated.*downloaded completely/);
    expect((await decodeFailure(readImageFile(await fileWith('tiny.png', good.subarray(0, 12))))).message).toContain('truncated');
    const flipped = Uint8Array.from(good);
    flipped[50] ^= 0xff; // inside IDAT: CRC mismatch
    expect((await decodeFailure(readImageFile(await fileWith('flip.png', flipped)))).message).toMatch(/flip\.png.*corrupt/);
  });

  it('reports truncated and corrupt JPEG data', async () => {
    const rgba = Buffer.alloc(16 * 16 * 4, 90);
    const good = encodeJpeg({ width: 16, height: 16, data: rgba }, 90).data;
    const truncated = await decodeFailure(readImageFile(await fileWith('cut.jpg', good.subarray(0, good.length >> 1))));
    expect(truncated.message).toMatch(/cut\.jpg.*JPEG data is corrupt or truncated/);
    const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(64, 0x00)]);
    expect((await decodeFailure(readImageFile(await fileWith('garbage.jpg', garbage)))).message).toMatch(/garbage\.jpg.*JPEG is corrupt/);
  });

  it('refuses oversized images before allocating them', () => {
    const bomb = pngHeaderOnly(100_000, 100_000);
    expect(() => decodeImageBytes(bomb, 'bomb.png')).toThrow(/100000x100000 .*over the 12-megapixel limit.*Downscale/);
    const jpeg = encodeJpeg({ width: 40, height: 30, data: Buffer.alloc(40 * 30 * 4) }, 50).data;
    expect(() => decodeImageBytes(jpeg, 'big.jpg', { maxMegapixels: 0.0005 })).toThrow(ImageDecodeError);
    expect(() => decodeImageBytes(jpeg, 'big.jpg', { maxMegapixels: 0.0005 })).toThrow(/40x30 .*over the 0.0005-megapixel limit/);
    expect(() => decodeImageBytes(jpeg, 'big.jpg', { maxMemoryMB: 0.001 })).toThrow(/safety limits/);
  });
});
