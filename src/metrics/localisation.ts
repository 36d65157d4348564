/**
 * Localisation scores of a saliency map against a ground-truth object mask (both H*W):
 *  - pointing game (Zhang et al. 2016): is the map's maximum inside the object? Ties count as a hit
 *    when any maximal pixel is inside (a flat map points everywhere, and so hits whenever the object exists).
 *  - energy inside the mask: sum of the map over the object / sum over the image (the "energy-based
 *    pointing game" of Score-CAM), on the map clipped at 0.
 */
export interface LocalisationScore {
  hit: boolean;
  energyInside: number;
}

/** Pointing game and energy inside the mask of one saliency map against a ground-truth mask (both H*W). */
export function localisationScore(map: ArrayLike<number>, mask: ArrayLike<number>): LocalisationScore {
  if (map.length !== mask.length) throw new Error(`map has ${map.length} values, mask ${mask.length}`);
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) if (map[i] > max) max = map[i];
  let hit = false;
  let inside = 0;
  let total = 0;
  for (let i = 0; i < map.length; i++) {
    const v = Math.max(0, map[i]);
    total += v;
    if (mask[i]) {
      inside += v;
      if (map[i] === max) hit = true;
    }
  }
  return { hit, energyInside: total > 0 ? inside / total : 0 };
}

/** Running means over images, per method. */
export class LocalisationTally {
  private readonly sums = new Map<string, { hits: number; energy: number; n: number }>();

  add(method: string, s: LocalisationScore): void {
    const t = this.sums.get(method) ?? { hits: 0, energy: 0, n: 0 };
    t.hits += s.hit ? 1 : 0;
    t.energy += s.energyInside;
    t.n++;
    this.sums.set(method, t);
  }

  rows(): { method: string; pointing: number; energy: number; images: number }[] {
    return [...this.sums].map(([method, t]) => ({ method, pointing: t.hits / t.n, energy: t.energy / t.n, images: t.n }));
  }
}
