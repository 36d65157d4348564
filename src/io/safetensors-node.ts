/**
 * Node file-system entry points for safetensors (kept out of safetensors.ts so that module stays
 * browser-safe).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';
import {
  LENGTH_FIELD_BYTES,
  attachData,
  parseHeader,
  readHeaderLength,
  tooLarge,
  writeSafetensors,
  type HostTensor,
  type SafetensorsFile,
  type TensorSpec,
} from './safetensors.js';

/** fs reads are capped at 2 GiB per call; larger data sections are read in chunks into one buffer. */
const READ_CHUNK_BYTES = 1 << 30;

/**
 * Reads a safetensors file: the length field, then the header, which is validated against the file
 * size before the data section is read, once, into a single ArrayBuffer (tensors are views into it).
 */
export async function readSafetensorsFile(path: string, options: { maxBytes?: number } = {}): Promise<SafetensorsFile> {
  const handle = await openForReading(path);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SafetensorsError(path, 'is not a regular file');
    const size = info.size;
    // The whole data section is read into memory: a caller that knows how large its files can be says so.
    if (options.maxBytes !== undefined && size > options.maxBytes) throw tooLarge(path, size, options.maxBytes);
    const prefix = await readExactly(handle, 0, Math.min(LENGTH_FIELD_BYTES, size), path);
    const headerLength = readHeaderLength(prefix, size, path);
    const dataStart = LENGTH_FIELD_BYTES + headerLength;
    const header = parseHeader(await readExactly(handle, LENGTH_FIELD_BYTES, headerLength, path), size - dataStart, path);
    return attachData(header, await readExactly(handle, dataStart, size - dataStart, path));
  } finally {
    await handle.close();
  }
}

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file in the same directory, are
 * flushed to disk, then renamed over the target, so a crash leaves either no file or a whole one.
 * Refuses to replace an existing file unless `force` is set.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Readonly<Record<string, TensorSpec>> | readonly HostTensor[],
  metadata?: Readonly<Record<string, string>>,
  options: { force?: boolean } = {},
): Promise<void> {
  // Serialise first: invalid tensors fail before anything touches the disk.
  const bytes = writeSafetensors(tensors, metadata, path);
  // A file created between this check and the rename would be replaced; acceptable for a CLI output.
  if (!options.force && (await exists(path))) {
    throw new SafetensorsError(path, 'already exists; refusing to overwrite it. Pass --force (force: true) to replace it');
  }
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeDurably(temporary, bytes);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new SafetensorsError(path, `cannot write (${String(cause)}); check that the directory exists and is writable`, undefined, {
      cause,
    });
  }
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(cause);
    throw new SafetensorsError(path, `cannot open (${reason}); check the path`, undefined, { cause });
  }
}

/** Reads exactly `length` bytes at `position`; a short read means the file shrank underneath us. */
async function readExactly(handle: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, Math.min(length - done, READ_CHUNK_BYTES), position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(path, `file ended after ${position + done} bytes while reading; was it modified during the read?`);
    }
    done += bytesRead;
  }
  return buffer;
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
