import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputStage, discardOpenStages } from '../../src/cli/output-stage.js';
import { snapshot } from './snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'lt-stage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `case-${n++}`);
const stage = (target: string, force = false, existing?: 'merge' | 'move-aside') =>
  OutputStage.create(target, { kind: 'dir', force, createParents: false, existing });
/** Entries of the parent folder other than the target: staging leftovers. */
const leftovers = (target: string) => readdirSync(join(target, '..')).filter((f) => f.includes('.staging-'));

describe('output staging', () => {
  it('writes nothing at the target until commit, then moves the whole result in', () => {
    const target = fresh();
    const s = stage(target);
    writeFileSync(s.path('a.txt'), 'A');
    mkdirSync(s.path('sub'));
    writeFileSync(s.path('sub', 'b.txt'), 'B');
    expect(existsSync(target)).toBe(false);
    s.commit();
    expect(readFileSync(join(target, 'sub', 'b.txt'), 'utf8')).toBe('B');
    expect(leftovers(target)).toEqual([]);
  });

  it('discard leaves an existing folder exactly as it was', () => {
    const target = fresh();
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'old');
    const before = snapshot(target);
    const s = stage(target);
    writeFileSync(s.path('keep.txt'), 'new');
    s.discard();
    expect(snapshot(target)).toEqual(before);
    expect(leftovers(target)).toEqual([]);
  });

  it('merges into an existing folder, refusing clashes without force and replacing them with it', () => {
    const target = fresh();
    mkdirSync(target);
    writeFileSync(join(target, 'other.txt'), 'mine');
    writeFileSync(join(target, 'x.txt'), 'old');
    const before = snapshot(target);
    const s = stage(target);
    expect(() => s.expect(['x.txt'])).toThrow(/already exist .*x\.txt.*pass --force/);
    writeFileSync(s.path('x.txt'), 'new');
    expect(() => s.commit()).toThrow(/pass --force/);
    expect(snapshot(target)).toEqual(before);
    const forced = stage(target, true);
    writeFileSync(forced.path('x.txt'), 'new');
    writeFileSync(forced.path('y.txt'), 'Y');
    forced.commit();
    expect(readFileSync(join(target, 'x.txt'), 'utf8')).toBe('new');
    expect(readFileSync(join(target, 'other.txt'), 'utf8')).toBe('mine');
    expect(leftovers(target)).toEqual([]);
  });

  it('undoes its own moves when one fails half-way, restoring replaced files', () => {
    const target = fresh();
    mkdirSync(target);
    writeFileSync(join(target, 'a.txt'), 'old a');
    writeFileSync(join(target, 'z'), 'a file where the stage has a folder');
    const before = snapshot(target);
    const s = stage(target, true);
    writeFileSync(s.path('a.txt'), 'new a');
    mkdirSync(s.path('z'));
    writeFileSync(s.path('z', 'inner.txt'), 'cannot land: z is a file');
    expect(() => s.commit()).toThrow();
    expect(snapshot(target)).toEqual(before);
    expect(leftovers(target)).toEqual([]);
  });

  it('moves an earlier result aside when asked (the demo), never deleting it', () => {
    const target = fresh();
    mkdirSync(target);
    writeFileSync(join(target, 'index.html'), 'old report');
    const s = stage(target, false, 'move-aside');
    writeFileSync(s.path('index.html'), 'new report');
    s.commit();
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toBe('new report');
    expect(readFileSync(join(s.movedAside!, 'index.html'), 'utf8')).toBe('old report');
  });

  it('stages a single output file and refuses to replace one without force', () => {
    const target = join(fresh() + '.safetensors');
    const s = OutputStage.create(target, { kind: 'file', force: false, createParents: false });
    writeFileSync(s.file, 'bytes');
    s.commit();
    expect(readFileSync(target, 'utf8')).toBe('bytes');
    const again = OutputStage.create(target, { kind: 'file', force: false, createParents: false });
    writeFileSync(again.file, 'other');
    expect(() => again.commit()).toThrow(/pass --force/);
    expect(readFileSync(target, 'utf8')).toBe('bytes');
  });

  it('removes staging folders of dead processes and every open one on an interrupt', () => {
    const target = fresh();
    const stale = join(root, `.${target.split('/').pop()}.staging-999999999-dead`);
    mkdirSync(stale);
    const s = stage(target);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(s.dir)).toBe(true);
    expect(discardOpenStages()).toBe(1);
    expect(existsSync(s.dir)).toBe(false);
  });
});
