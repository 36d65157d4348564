/**
 * Up-front checks of the paths a command was given, before anything is loaded or written: inputs exist
 * and are plain files or folders (a FIFO or a device would block the first read for ever), outputs land
 * in a writable folder on an ordinary filesystem (writing under /proc, /sys or /dev can hang or do
 * something else entirely).
 */
import { accessSync, constants, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

/** The path's real location, or null when it is on a special filesystem. Follows the nearest existing ancestor. */
export function onSpecialFilesystem(path: string): string | null {
  const real = realExisting(resolve(path));
  return SPECIAL_ROOTS.find((root) => real === root || real.startsWith(root + sep)) ?? null;
}

/** realpath of the path, or of its nearest existing ancestor joined with the rest. */
export function realExisting(path: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = realpathSync(head);
      return tail.length ? resolve(real, ...tail.reverse()) : real;
    } catch {
      const parent = dirname(head);
      if (parent === head) return path;
      tail.push(head.slice(parent.length).replace(/^[/\\]+/, ''));
      head = parent;
    }
  }
}

function statOrNull(path: string, follow = true): Stats | null {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new UsageError(`"${path}": a part of this path is a file, not a folder`);
    if (code === 'EACCES') throw new UsageError(`"${path}": permission denied while looking it up; check the folder permissions`);
    if (code === 'ELOOP') throw new UsageError(`"${path}": too many symbolic links (a link loop?)`);
    if (code === 'ENAMETOOLONG') throw new UsageError(`"${path.slice(0, 80)}...": the path is too long`);
    throw err;
  }
}

function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  if (s.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** An input given with `flag` exists and is a regular file (or, when allowed, a folder) on an ordinary filesystem. */
export function checkInput(flag: string, path: string, allowDir: boolean): void {
  const special = onSpecialFilesystem(path);
  if (special) throw new UsageError(`${flag} "${path}" is under ${special}, a special filesystem; give an ordinary file`);
  const s = statOrNull(path);
  if (!s) {
    const parent = dirname(resolve(path));
    const hint = statOrNull(parent) ? 'check the name' : `the folder ${parent} does not exist either`;
    throw new UsageError(`${flag} "${path}" does not exist; ${hint}`);
  }
  if (s.isFile()) {
    readable(flag, path);
    return;
  }
  if (allowDir && s.isDirectory()) {
    readable(flag, path);
    return;
  }
  throw new UsageError(`${flag} "${path}" is ${kindOf(s)}; give ${allowDir ? 'a file or a folder' : 'a regular file'}`);
}

function readable(flag: string, path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`${flag} "${path}" cannot be read (permission denied); check its permissions`);
  }
}

/**
 * An output folder or file can be written: not on a special filesystem; an existing target is a folder
 * (out-dir) or a regular file (out-file, refused without force); its parent exists (or may be created,
 * for a default path) and is writable.
 */
export function checkOutput(flag: string, path: string, kind: 'dir' | 'file', opts: { force: boolean; createParents: boolean }): void {
  const special = onSpecialFilesystem(path);
  if (special) throw new UsageError(`${flag} "${path}" is under ${special}, a special filesystem; choose an ordinary folder`);
  const target = resolve(path);
  const s = statOrNull(target);
  if (s) {
    if (kind === 'dir' && !s.isDirectory())
      throw new UsageError(`${flag} "${path}" exists and is ${s.isFile() ? 'a file' : kindOf(s)}, not a folder; choose another ${flag}`);
    if (kind === 'file' && !s.isFile()) throw new UsageError(`${flag} "${path}" exists and is ${kindOf(s)}; give a file path`);
    if (kind === 'file' && !opts.force)
      throw new UsageError(`${flag} "${path}" already exists; pass --force to overwrite it or choose another ${flag}`);
    writable(flag, kind === 'dir' ? target : dirname(realExisting(target)), path);
    return;
  }
  const parent = dirname(target);
  const p = statOrNull(parent);
  if (!p) {
    if (!opts.createParents)
      throw new UsageError(`${flag} "${path}": the folder ${parent} does not exist; create it first or choose another ${flag}`);
    const existing = nearestExisting(parent);
    if (!statSync(existing).isDirectory()) throw new UsageError(`${flag} "${path}": ${existing} is a file, not a folder`);
    writable(flag, existing, path);
    return;
  }
  if (!p.isDirectory()) throw new UsageError(`${flag} "${path}": ${parent} is ${p.isFile() ? 'a file' : kindOf(p)}, not a folder`);
  writable(flag, parent, path);
}

function nearestExisting(path: string): string {
  let p = path;
  while (!statOrNull(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

function writable(flag: string, folder: string, path: string): void {
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'it is on a read-only filesystem' : 'permission denied';
    throw new UsageError(`${flag} "${path}": cannot write in ${folder} (${why}); choose another ${flag}`);
  }
}
