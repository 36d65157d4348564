/**
 * How alike two attribution maps are, the three measures of Adebayo et al. (2018): Spearman rank
 * correlation, SSIM and the correlation of HOG features. Plain CPU code on host arrays: the maps are
 * small and the measures need sorting and windows, not throughput.
 */
import { averageRanks, pearson } from '../metrics/statistics.js';

/** Spearman's rho: Pearson correlation of the ranks, ties sharing their mean rank. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(Array.from(a)), averageRanks(Array.from(b)));
}

/**
 * Mean structural similarity of two (H, W) maps as scikit-image's structural_similarity computes it by
 * default: a 7 x 7 uniform window over the positions where it fits whole, sample covariances (N - 1),
 * C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = `dataRange` (1 for maps in [0, 1]).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, dataRange = 1, win = 7): number {
  if (a.length !== height * width || b.length !== height * width)
    throw new RangeError(`ssim: maps of ${a.length} and ${b.length} values for ${height}x${width}`);
  if (height < win || width < win) throw new RangeError(`ssim: a ${height}x${width} map is smaller than the ${win}x${win} window`);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  const np = win * win;
  const cov = np / (np - 1);
  let total = 0;
  let count = 0;
  for (let y = 0; y + win <= height; y++) {
    for (let x = 0; x + win <= width; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let dy = 0; dy < win; dy++) {
        for (let dx = 0; dx < win; dx++) {
          const va = a[(y + dy) * width + x + dx];
          const vb = b[(y + dy) * width + x + dx];
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      const ua = sa / np;
      const ub = sb / np;
      const vxa = cov * (saa / np - ua * ua);
      const vxb = cov * (sbb / np - ub * ub);
      const vab = cov * (sab / np - ua * ub);
      total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (vxa + vxb + c2));
      count++;
    }
  }
  return total / count;
}

/**
 * Histogram of oriented gradients (Dalal & Triggs) of an (H, W) map: central-difference gradients, 9
 * unsigned orientation bins over [0, 180) degrees voted by magnitude in cells of `cell` x `cell` pixels, blocks
 * of 2 x 2 cells normalised by L2-Hys (L2, clip at 0.2, L2 again), blocks overlapping by one cell.
 */
export function hog(map: ArrayLike<number>, height: number, width: number, cell = defaultHogCell(height, width)): Float64Array {
  const bins = 9;
  const cy = Math.floor(height / cell);
  const cx = Math.floor(width / cell);
  if (cy < 2 || cx < 2) throw new RangeError(`hog: a ${height}x${width} map has fewer than 2 x 2 cells of ${cell} px`);
  const hist = new Float64Array(cy * cx * bins);
  const at = (y: number, x: number) => map[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
  for (let y = 0; y < cy * cell; y++) {
    for (let x = 0; x < cx * cell; x++) {
      const gx = at(y, x + 1) - at(y, x - 1);
      const gy = at(y + 1, x) - at(y - 1, x);
      const mag = Math.hypot(gx, gy);
      if (mag === 0) continue;
      let angle = (Math.atan2(gy, gx) * 180) / Math.PI;
      if (angle < 0) angle += 180;
      const bin = Math.min(bins - 1, Math.floor(angle / (180 / bins)));
      hist[((Math.floor(y / cell) * cx + Math.floor(x / cell)) * bins + bin) | 0] += mag;
    }
  }
  const out = new Float64Array((cy - 1) * (cx - 1) * 4 * bins);
  let o = 0;
  for (let by = 0; by + 1 < cy; by++) {
    for (let bx = 0; bx + 1 < cx; bx++) {
      const block = new Float64Array(4 * bins);
      let k = 0;
      for (let dy = 0; dy < 2; dy++)
        for (let dx = 0; dx < 2; dx++) for (let b = 0; b < bins; b++) block[k++] = hist[((by + dy) * cx + bx + dx) * bins + b];
      l2Normalise(block);
      for (let i = 0; i < block.length; i++) block[i] = Math.min(block[i], 0.2);
      l2Normalise(block);
      out.set(block, o);
      o += block.length;
    }
  }
  return out;
}

/** Cells of 8 px on maps of 64 px and more, otherwise an eighth of the shorter side (4 px at 32 x 32). */
export function defaultHogCell(height: number, width: number): number {
  return Math.max(2, Math.min(8, Math.floor(Math.min(height, width) / 8)));
}

function l2Normalise(v: Float64Array): void {
  let s = 1e-10; // scikit-image's eps^2 guard: an empty block stays zero
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
}

/** Pearson correlation of the two maps' HOG features. */
export function hogSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number): number {
  return pearson(hog(a, height, width), hog(b, height, width));
}
