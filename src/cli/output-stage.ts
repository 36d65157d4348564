/**
 * Atomic results. A command writes into a staging folder beside its target (`.NAME.staging-PID-XXXX`
 * in the same parent, so every move is a rename on one filesystem) and the complete result is moved into
 * place at the end. A run that fails or is interrupted (SIGINT, SIGTERM) removes its staging folder and
 * leaves the target exactly as it was, so the corrected re-run needs no --force. A staging folder left by
 * a killed process (SIGKILL, power loss) is removed by the next run that writes beside it.
 *
 * Invariant: nothing under the target changes before `commit`, and `commit` is synchronous (no signal
 * handler can run half-way through it) and undoes its own moves when one of them fails.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from './errors.js';

export interface StageOptions {
  kind: 'dir' | 'file';
  force: boolean;
  /** Create missing parent folders (only for a default path such as out/explain). */
  createParents: boolean;
  /** What to do with an existing target folder: merge the new files in (default) or move it aside first. */
  existing?: 'merge' | 'move-aside';
  /** The option name, for messages. */
  flag?: string;
}

const open = new Set<OutputStage>();

/** Removes every staging folder of this process: called on SIGINT/SIGTERM before exiting. */
export function discardOpenStages(): number {
  const stages = [...open];
  for (const s of stages) s.discard();
  return stages.length;
}

export class OutputStage {
  /** The staging folder: write every output under it. */
  readonly dir: string;
  private done = false;
  /** Set by commit for move-aside: where the earlier result went. */
  movedAside: string | null = null;

  private constructor(
    readonly target: string,
    private readonly opts: StageOptions,
    dir: string,
    /** The target as the user gave it, for messages. */
    private readonly given: string,
  ) {
    this.dir = dir;
  }

  /** Creates the staging folder (and, when allowed, the target's missing parents). */
  static create(target: string, opts: StageOptions): OutputStage {
    let absolute = resolve(target);
    // Stage beside the real folder, so a target that is a link to another filesystem still moves by rename.
    if (existsSync(absolute)) absolute = realpathSync(absolute);
    const parent = dirname(absolute);
    if (opts.createParents) mkdirSync(parent, { recursive: true });
    removeStale(parent, basename(absolute));
    const name = `.${basename(absolute)}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
    // A parent we may not write in (e.g. --out . in a read-only parent) stages inside the target instead.
    const dir = canWrite(parent) || !existsSync(absolute) ? join(parent, name) : join(absolute, name);
    mkdirSync(dir);
    const stage = new OutputStage(absolute, opts, dir, target);
    open.add(stage);
    return stage;
  }

  /** Where to write `name` (a path relative to the target folder). */
  path(...name: string[]): string {
    return join(this.dir, ...name);
  }

  /** For an out-file target: where to write the file. */
  get file(): string {
    return join(this.dir, basename(this.target));
  }

  /** The target path as the user gave it, for messages ("wrote out/explain/index.html"). */
  final(...name: string[]): string {
    return name.length ? join(this.given, ...name) : this.given;
  }

  /** A path under the staging folder as it will be named once committed; other paths unchanged. */
  readonly show = (path: string): string => {
    const rel = relative(this.dir, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : this.final(rel);
  };

  /**
   * Refuses, before the work, when any of these outputs (relative to the target folder) already exist and
   * --force is not set. Commit checks again for names not known in advance.
   */
  expect(names: readonly string[]): void {
    if (this.opts.force || this.opts.existing === 'move-aside') return;
    const base = this.opts.kind === 'file' ? dirname(this.target) : this.target;
    const clash = names.filter((n) => existsSync(join(base, n)));
    if (clash.length)
      throw clashError(
        this.opts.flag ?? '--out',
        clash.map((n) => this.final(n)),
      );
  }

  /** Moves the complete result into place; returns the final paths written. */
  commit(): string[] {
    if (this.done) throw new Error('output stage committed twice');
    try {
      if (this.opts.kind === 'file') return this.commitFile();
      if (!existsSync(this.target)) {
        renameSync(this.dir, this.target);
        return listFiles(this.target).map((f) => join(this.target, f));
      }
      if (this.opts.existing === 'move-aside') {
        const aside = `${this.target}-previous-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        renameSync(this.target, aside);
        try {
          renameSync(this.dir, this.target);
        } catch (err) {
          renameSync(aside, this.target);
          throw err;
        }
        this.movedAside = aside;
        return listFiles(this.target).map((f) => join(this.target, f));
      }
      return this.merge();
    } finally {
      this.discard();
    }
  }

  private commitFile(): string[] {
    const staged = this.file;
    if (!existsSync(staged)) throw new Error(`the command wrote no ${basename(this.target)}`);
    if (existsSync(this.target) && !this.opts.force) throw clashError(this.opts.flag ?? '--out', [this.final()]);
    renameSync(staged, this.target);
    return [this.target];
  }

  /** File by file into an existing folder; replaced files are kept in the stage until every move succeeded. */
  private merge(): string[] {
    const files = listFiles(this.dir);
    if (!this.opts.force) {
      const clash = files.filter((f) => existsSync(join(this.target, f)));
      if (clash.length)
        throw clashError(
          this.opts.flag ?? '--out',
          clash.map((f) => this.final(f)),
        );
    }
    const backup = join(this.dir, '.replaced');
    const moved: string[] = [];
    const replaced: string[] = [];
    const madeDirs: string[] = [];
    try {
      for (const f of files) {
        const dst = join(this.target, f);
        madeDirs.push(...makeParents(dirname(dst), this.target));
        if (existsSync(dst)) {
          mkdirSync(dirname(join(backup, f)), { recursive: true });
          renameSync(dst, join(backup, f));
          replaced.push(f);
        }
        renameSync(join(this.dir, f), dst);
        moved.push(f);
      }
    } catch (err) {
      for (const f of moved.reverse()) renameSync(join(this.target, f), join(this.dir, f));
      for (const f of replaced) renameSync(join(backup, f), join(this.target, f));
      for (const d of madeDirs.reverse()) rmdirSync(d);
      throw err;
    }
    return files.map((f) => join(this.target, f));
  }

  /** Removes the staging folder; the target is untouched. Safe to call twice. */
  discard(): void {
    this.done = true;
    open.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function clashError(flag: string, paths: string[]): UsageError {
  return new UsageError(
    `output files already exist (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', ...' : ''}); pass --force to overwrite or choose another ${flag}`,
  );
}

/** Files under `dir`, relative, depth first; skips the backup folder of a merge. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    if (entry.isDirectory()) {
      if (rel !== '.replaced') out.push(...listFiles(dir, rel));
    } else out.push(rel);
  }
  return out.sort();
}

/** mkdir -p below `root`, returning the folders it created (deepest last). */
function makeParents(dir: string, root: string): string[] {
  const missing: string[] = [];
  for (let d = dir; d !== root && !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
  return missing;
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Removes staging folders beside `base` left by processes that no longer exist. */
function removeStale(parent: string, base: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${base}.staging-`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    const p = join(parent, name);
    if (lstatSync(p).isDirectory()) rmSync(p, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
