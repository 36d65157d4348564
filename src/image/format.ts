/**
 * Image format detection by magic bytes: a file's extension says what someone named it, the first
 * bytes say what it is. Formats we cannot decode are still named, so the error can say
 * "this is a WebP" rather than "unknown data".
 */
export type DecodableFormat = 'png' | 'jpeg';

export const SUPPORTED_FORMATS_TEXT = 'PNG and JPEG';

/** What {@link detectImageFormat} found: a format the decoders read, or a description of what the bytes are instead. */
export type DetectedFormat = { format: DecodableFormat } | { format: 'unsupported'; description: string };

const ascii = (bytes: Uint8Array, from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));

const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/** Recognised but undecodable formats, tested in order. */
const OTHER_FORMATS: ReadonlyArray<{ test: (b: Uint8Array) => boolean; name: string }> = [
  { test: (b) => ascii(b, 0, 4) === 'GIF8', name: 'GIF' },
  { test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP', name: 'WebP' },
  { test: (b) => ascii(b, 0, 2) === 'BM', name: 'BMP' },
  { test: (b) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]), name: 'TIFF' },
  { test: (b) => ascii(b, 4, 8) === 'ftyp' && /^(avif|avis)$/.test(ascii(b, 8, 12)), name: 'AVIF' },
  { test: (b) => ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|mif1|msf1)$/.test(ascii(b, 8, 12)), name: 'HEIC/HEIF' },
  { test: (b) => startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]), name: 'JPEG 2000' },
  { test: (b) => ascii(b, 0, 5) === '%PDF-', name: 'PDF document' },
  { test: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]), name: 'ZIP archive' },
  { test: (b) => startsWith(b, [0x1f, 0x8b]), name: 'gzip archive' },
];

/** Quoted when nothing matches, so the user can see what the file starts with. */
function describeLeadingBytes(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const printable = head.length > 0 && head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
  return printable
    ? `text starting "${ascii(head, 0, head.length).replace(/\s+/g, ' ')}" (bytes ${hex})`
    : `unknown data (first bytes ${hex})`;
}

/**
 * The format of image bytes from their magic numbers (never the file name): PNG or JPEG, or what else they are (GIF, WebP, a PDF,
 * text, ...).
 */
export function detectImageFormat(bytes: Uint8Array): DetectedFormat {
  if (startsWith(bytes, PNG_MAGIC)) return { format: 'png' };
  if (startsWith(bytes, JPEG_MAGIC)) return { format: 'jpeg' };
  if (bytes.length === 0) return { format: 'unsupported', description: 'an empty file' };
  const known = OTHER_FORMATS.find((f) => f.test(bytes));
  return { format: 'unsupported', description: known ? `a ${known.name} file` : describeLeadingBytes(bytes) };
}
