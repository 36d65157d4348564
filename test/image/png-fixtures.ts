/**
 * Hand-built PNG files for decoder tests: pngjs can only write grey / RGB / alpha at 8 or 16 bits
 * from its own input layout, so palettes, tRNS and 16-bit samples are assembled chunk by chunk.
 */
import { crc32, deflateSync } from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, body: Uint8Array): Buffer {
  const typeAndBody = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndBody));
  return Buffer.concat([length, typeAndBody, crc]);
}

export interface PngSpec {
  width: number;
  height: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Raw scanlines, already packed at bitDepth, without the filter byte. */
  rows: Uint8Array[];
  /** PLTE entries for colorType 3. */
  palette?: ReadonlyArray<readonly [number, number, number]>;
  /** tRNS body: per-palette-entry alphas, or a colour key. */
  trns?: Uint8Array;
}

export function makePng(spec: PngSpec): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(spec.width, 0);
  ihdr.writeUInt32BE(spec.height, 4);
  ihdr[8] = spec.bitDepth;
  ihdr[9] = spec.colorType;
  // compression 0, filter 0, interlace 0
  const raw = Buffer.concat(spec.rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  const chunks = [chunk('IHDR', ihdr)];
  if (spec.palette) chunks.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.trns) chunks.push(chunk('tRNS', spec.trns));
  chunks.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

/** A PNG that is only a header claiming the given size: enough to test limits checked before decoding. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr)]);
}
