import { hstack, tileGrid } from '../../image/grid.js';
import type { RgbImage } from '../../image/image.js';
import { generateSample, SPLIT_SEEDS, SYNTHETIC_CLASSES, SYNTHETIC_SIZE } from './generator.js';

/**
 * A picture for eyeballing the data: one row per class (in SYNTHETIC_CLASSES order), `perClass`
 * samples per row, each shown as the image beside its mask (white = object). The samples are the
 * first of each class in the seed's index order.
 */
export function syntheticContactSheet(perClass = 4, seed = SPLIT_SEEDS.val, scale = 2): RgbImage {
  const S = SYNTHETIC_SIZE;
  const rows: RgbImage[][] = SYNTHETIC_CLASSES.map(() => []);
  for (let index = 0; rows.some((r) => r.length < perClass); index++) {
    const s = generateSample(seed, index);
    if (rows[s.label].length >= perClass) continue;
    const mask = new Uint8Array(S * S * 3);
    for (let i = 0; i < S * S; i++) mask.fill(s.mask[i] ? 255 : 0, i * 3, i * 3 + 3);
    rows[s.label].push(
      hstack(
        [
          { width: S, height: S, data: s.image },
          { width: S, height: S, data: mask },
        ],
        { padding: 1 },
      ),
    );
  }
  return tileGrid(rows.flat(), { columns: perClass, padding: 4, scale, background: [255, 255, 255] });
}
