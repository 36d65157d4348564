import { describe, expect, it } from 'vitest';
import {
  generateSample,
  generateSplit,
  SPLIT_SEEDS,
  SYNTHETIC_CLASSES,
  SYNTHETIC_SIZE,
  syntheticContactSheet,
} from '../../src/data/synthetic/index.js';
import { hash32 } from '../../src/data/synthetic/rng.js';
import { sinCosTurns } from '../../src/data/synthetic/trig.js';

const S = SYNTHETIC_SIZE;
const N = 200;
const test = generateSplit('test', N);

/** FNV-1a over bytes: a fingerprint to pin the generator's output. */
function fnv1a(...arrays: Uint8Array[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i], 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

describe('synthetic shapes dataset', () => {
  it('has ten distinct class names', () => {
    expect(SYNTHETIC_CLASSES).toHaveLength(10);
    expect(new Set(SYNTHETIC_CLASSES).size).toBe(10);
  });

  it('is deterministic: the same seed and index give identical bytes, in any order', () => {
    const a = generateSample(SPLIT_SEEDS.test, 17);
    const b = generateSample(SPLIT_SEEDS.test, 17);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.mask).equals(Buffer.from(b.mask))).toBe(true);
    expect(a.label).toBe(b.label);
    expect(a.bbox).toEqual(b.bbox);
    // Sample i of a split is the same whether generated alone or as part of the split.
    expect(Buffer.from(test.images.subarray(17 * S * S * 3, 18 * S * S * 3)).equals(Buffer.from(a.image))).toBe(true);
    expect(Buffer.from(test.masks.subarray(17 * S * S, 18 * S * S)).equals(Buffer.from(a.mask))).toBe(true);
    expect(test.labels[17]).toBe(a.label);
  });

  it('samples and splits differ', () => {
    const val = generateSplit('val', 20);
    const train = generateSplit('train', 20);
    let identical = 0;
    for (let i = 0; i < 20; i++) {
      const t = Buffer.from(test.images.subarray(i * S * S * 3, (i + 1) * S * S * 3));
      if (t.equals(Buffer.from(val.images.subarray(i * S * S * 3, (i + 1) * S * S * 3)))) identical++;
      if (t.equals(Buffer.from(train.images.subarray(i * S * S * 3, (i + 1) * S * S * 3)))) identical++;
    }
    expect(identical).toBe(0);
    expect(fnv1a(test.labels.subarray(0, 20))).not.toBe(fnv1a(val.labels));
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) seen.add(fnv1a(test.images.subarray(i * S * S * 3, (i + 1) * S * S * 3)));
    expect(seen.size).toBe(N);
  });

  it('pins the generator output (a change here means the default models need retraining)', () => {
    // If this fails on purpose: bump SYNTHETIC_VERSION, regenerate, retrain (tools/train_default_models.py).
    expect(fnv1a(generateSample(SPLIT_SEEDS.train, 0).image, generateSample(SPLIT_SEEDS.test, 1234).image)).toMatchInlineSnapshot(
      `"1b5b2603"`,
    );
  });

  it('balances labels: every class exactly N/10 times, in every block of ten', () => {
    const counts = new Array(10).fill(0);
    test.labels.forEach((l) => counts[l]++);
    expect(counts).toEqual(new Array(10).fill(N / 10));
    for (let b = 0; b < N; b += 10) expect(new Set(test.labels.subarray(b, b + 10)).size).toBe(10);
    // ... but not in a fixed cycle.
    expect(Array.from(test.labels.subarray(0, 10))).not.toEqual(Array.from(test.labels.subarray(10, 20)));
  });

  it('masks are binary, non-empty, well inside the image, and match the bounding box', () => {
    for (let i = 0; i < 60; i++) {
      const s = generateSample(SPLIT_SEEDS.train, i);
      expect(s.image).toHaveLength(S * S * 3);
      expect(s.mask).toHaveLength(S * S);
      let area = 0;
      let nonBinary = 0;
      let x0 = S;
      let y0 = S;
      let x1 = -1;
      let y1 = -1;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const m = s.mask[y * S + x];
          if (m > 1) nonBinary++;
          if (!m) continue;
          area++;
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
      }
      expect(nonBinary).toBe(0);
      expect(area, `sample ${i} (${s.params.className})`).toBeGreaterThan(40);
      expect(area).toBeLessThan(S * S * 0.5);
      expect(s.bbox).toEqual({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
      // The object never touches the border: the whole silhouette is in the picture.
      expect(x0).toBeGreaterThan(0);
      expect(y0).toBeGreaterThan(0);
      expect(x1).toBeLessThan(S - 1);
      expect(y1).toBeLessThan(S - 1);
    }
  });

  it('mask pixels differ from the background around them', () => {
    let contrastSum = 0;
    let low = 0;
    for (let n = 0; n < N; n++) {
      const img = test.images.subarray(n * S * S * 3, (n + 1) * S * S * 3);
      const mask = test.masks.subarray(n * S * S, (n + 1) * S * S);
      const inside = [0, 0, 0];
      const outside = [0, 0, 0];
      let ni = 0;
      let no = 0;
      for (let p = 0; p < S * S; p++) {
        const acc = mask[p] ? inside : outside;
        for (let c = 0; c < 3; c++) acc[c] += img[p * 3 + c];
        if (mask[p]) ni++;
        else no++;
      }
      const d = Math.sqrt(inside.reduce((sum, v, c) => sum + (v / ni - outside[c] / no) ** 2, 0));
      contrastSum += d;
      if (d < 30) low++;
    }
    expect(contrastSum / N).toBeGreaterThan(80);
    expect(low).toBeLessThan(N * 0.05);
  });

  it('every class and every background kind appears, with distractors', () => {
    const classes = new Set<string>();
    const backgrounds = new Set<string>();
    let distractors = 0;
    for (let i = 0; i < 100; i++) {
      const s = generateSample(SPLIT_SEEDS.val, i);
      classes.add(s.params.className);
      backgrounds.add(s.params.background);
      distractors += s.params.distractors;
      expect(SYNTHETIC_CLASSES[s.label]).toBe(s.params.className);
    }
    expect(classes.size).toBe(10);
    expect(backgrounds).toEqual(new Set(['noise', 'stripes', 'gradient', 'checker']));
    expect(distractors / 100).toBeGreaterThan(2);
  });

  it('distractors stay out of the mask and change pixels outside it', () => {
    // Same object, different clutter would need another API; instead: outside-mask pixels far from the
    // background's smooth pattern exist (distractors), while inside the mask the colour is the object's.
    const s = generateSample(SPLIT_SEEDS.val, 3);
    expect(s.params.distractors).toBeGreaterThan(0);
    let inside = 0;
    for (let p = 0; p < S * S; p++) {
      if (!s.mask[p]) continue;
      const d = Math.sqrt(s.params.color.reduce((sum, v, c) => sum + (s.image[p * 3 + c] - v) ** 2, 0));
      if (d < 80) inside++;
    }
    expect(inside / s.mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.8);
  });

  it('rejects bad arguments', () => {
    expect(() => generateSample(1, -1)).toThrow(RangeError);
    expect(() => generateSample(1, 0.5)).toThrow(RangeError);
    expect(() => generateSplit('bogus' as 'train', 1)).toThrow(/unknown split/);
  });

  it('trigonometry and hashing are exact-arithmetic implementations that agree with Math', () => {
    for (let t = -1; t <= 2; t += 0.0137) {
      const [s, c] = sinCosTurns(t);
      expect(Math.abs(s - Math.sin(2 * Math.PI * t))).toBeLessThan(1e-9);
      expect(Math.abs(c - Math.cos(2 * Math.PI * t))).toBeLessThan(1e-9);
    }
    expect(hash32(0)).toBe(0);
    expect(hash32(1)).not.toBe(hash32(2));
  });

  it('draws a contact sheet: one row per class, image | mask per cell', () => {
    const sheet = syntheticContactSheet(2, SPLIT_SEEDS.val, 1);
    // 2 columns of (64 + 1 + 64) wide cells, 10 rows of 64, padding 4.
    expect(sheet.width).toBe(2 * 129 + 3 * 4);
    expect(sheet.height).toBe(10 * 64 + 11 * 4);
  });
});
