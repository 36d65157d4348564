import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImageBytes } from '../../src/image/decode-node.js';
import { encodePng, OutputExistsError, writePng } from '../../src/image/encode-node.js';
import { createRgbImage } from '../../src/image/image.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layertracer-encode-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('encodePng', () => {
  it('writes an 8-bit RGB PNG that decodes to the same pixels', () => {
    const img = { width: 3, height: 2, data: Uint8Array.of(0, 1, 2, 3, 4, 5, 250, 251, 252, 9, 8, 7, 255, 0, 255, 6, 6, 6) };
    const bytes = encodePng(img);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes[25]).toBe(2); // IHDR colour type: RGB, no alpha
    expect(decodeImageBytes(bytes, 'mem.png')).toEqual(img);
  });

  it('rejects an image whose buffer does not match its size', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(3) })).toThrow(/needs 12 RGB bytes, but has 3/);
  });
});

describe('writePng', () => {
  it('refuses to overwrite an existing file unless forced', async () => {
    const path = join(dir, 'existing.png');
    await writeFile(path, 'keep me');
    const err = await writePng(path, createRgbImage(1, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputExistsError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain('--force');
    expect(await readFile(path, 'utf8')).toBe('keep me');

    await writePng(path, createRgbImage(1, 1, [1, 2, 3]), { force: true });
    expect([...decodeImageBytes(await readFile(path), path).data]).toEqual([1, 2, 3]);
  });

  it('creates missing parent directories', async () => {
    const path = join(dir, 'a', 'b', 'out.png');
    await writePng(path, createRgbImage(2, 2, [7, 7, 7]));
    expect(decodeImageBytes(await readFile(path), path).width).toBe(2);
  });
});
