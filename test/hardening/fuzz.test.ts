/**
 * The seeded fuzz in the suite: a few thousand mutated weights files, PNG and JPEG images and command
 * lines (tools/fuzz/core.ts). Each must be accepted consistently or refused with the project's own error;
 * any other error is a crash and fails the test with its (kind, index) to reproduce it.
 * The long run is `npm run fuzz`.
 */
import { describe, expect, it } from 'vitest';
import { loadBases, runCase, type Kind } from '../../tools/fuzz/core.js';
import { ROOT } from '../cli/cli-fixtures.js';

const SEED = 13;
const bases = loadBases(ROOT);
const COUNTS: Record<Kind, number> = { weights: 1200, png: 1500, jpeg: 1500, options: 3000 };

describe('seeded fuzz', () => {
  for (const kind of Object.keys(COUNTS) as Kind[]) {
    it(`${COUNTS[kind]} ${kind} cases: accepted or refused with a named error, never a crash`, () => {
      const tally = { accepted: 0, refused: 0, crash: 0 };
      const crashes: string[] = [];
      for (let i = 0; i < COUNTS[kind]; i++) {
        const r = runCase(kind, SEED, i, bases);
        tally[r.outcome]++;
        if (r.outcome === 'crash' && crashes.length < 10) crashes.push(`${kind} #${i} (seed ${SEED}): ${r.detail}`);
      }
      expect(crashes).toEqual([]);
      // Both outcomes occur: the mutations reach past the first check.
      expect(tally.accepted).toBeGreaterThan(0);
      expect(tally.refused).toBeGreaterThan(0);
    });
  }
});
