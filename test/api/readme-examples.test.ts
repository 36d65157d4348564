/**
 * The README's code blocks marked `<!-- example: PATH -->` are the example files themselves (which the
 * packed-package test runs), so the README cannot drift from code that works; and the two quick starts
 * keep the promise of the README's heading: at most six lines of code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const QUICK_STARTS = ['examples/quick-start.mjs', 'examples/browser/main.js'];
const MAX_CODE_LINES = 6;

function markedBlocks(): { path: string; block: string }[] {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  return [...readme.matchAll(/<!-- example: (\S+) -->\s*```\w*\n([\s\S]*?)```/g)].map((m) => ({ path: m[1], block: m[2] }));
}

describe('README examples', () => {
  it('every marked block equals its example file, and both quick starts are marked', () => {
    const blocks = markedBlocks();
    expect(blocks.map((b) => b.path)).toEqual(expect.arrayContaining(QUICK_STARTS));
    for (const { path, block } of blocks) {
      expect(block, `README block for ${path} differs from the file`).toBe(readFileSync(`${ROOT}${path}`, 'utf8'));
    }
  });

  it(`the quick starts take at most ${MAX_CODE_LINES} lines of code`, () => {
    for (const path of QUICK_STARTS) {
      const code = readFileSync(`${ROOT}${path}`, 'utf8')
        .split('\n')
        .filter((line) => line.trim() && !line.trim().startsWith('//'));
      expect(code.length, `${path}:\n${code.join('\n')}`).toBeLessThanOrEqual(MAX_CODE_LINES);
    }
  });
});
