import { describe, expect, it } from 'vitest';
import { localisationScore, LocalisationTally } from '../../src/metrics/localisation.js';

describe('localisation scores', () => {
  const mask = [0, 1, 1, 0];
  it('pointing game hits when the maximum is inside the object', () => {
    expect(localisationScore([0.1, 0.9, 0.2, 0.3], mask).hit).toBe(true);
    expect(localisationScore([0.95, 0.9, 0.2, 0.3], mask).hit).toBe(false);
  });
  it('energy inside the mask is the share of positive map mass on the object', () => {
    expect(localisationScore([1, 1, 1, 1], mask).energyInside).toBeCloseTo(0.5);
    expect(localisationScore([0, 3, 1, -5], mask).energyInside).toBeCloseTo(1);
    expect(localisationScore([0, 0, 0, 0], mask).energyInside).toBe(0);
  });
  it('tallies per method', () => {
    const t = new LocalisationTally();
    t.add('a', { hit: true, energyInside: 0.5 });
    t.add('a', { hit: false, energyInside: 0.25 });
    expect(t.rows()).toEqual([{ method: 'a', pointing: 0.5, energy: 0.375, images: 2 }]);
  });
});
