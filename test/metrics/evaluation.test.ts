import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateCommand } from '../../src/cli/evaluate.js';
import { sanityCommand } from '../../src/cli/sanity.js';
import { meanCurves, summarise, type MethodEvaluation } from '../../src/metrics/evaluation.js';
import { trapezoidAuc } from '../../src/metrics/insertion-deletion.js';
import { mean } from '../../src/metrics/statistics.js';
import { cifarFile } from '../util/shared-data.js';

const dir = mkdtempSync(join(tmpdir(), 'lt-evaluate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fake per-image results: method b beats a on insertion on every image, by 0.1 + 0.001 i (no ties). */
function fake(): MethodEvaluation[] {
  const curve = (v: number) => [0, v, 1];
  const scores = (shift: number) =>
    Array.from({ length: 12 }, (_, i) => ({
      image: i,
      target: 0,
      insertion: 0.5 + 0.01 * i + (shift ? shift + 0.001 * i : 0),
      deletion: 0.3 - 0.005 * i,
      seconds: 1,
      insertionCurve: curve(0.5 + shift),
      deletionCurve: curve(0.2),
    }));
  return [
    { method: 'a', perImage: scores(0) },
    { method: 'b', layer: 'layer3', perImage: scores(0.1) },
  ];
}

describe('evaluation summaries', () => {
  it('means with intervals, and paired differences against the named baseline', () => {
    const [a, b] = summarise(fake(), { baseline: 'a', resamples: 500 });
    expect(a.versus).toBeUndefined();
    expect(a.insertion.mean).toBeCloseTo(mean(fake()[0].perImage.map((s) => s.insertion)), 12);
    expect(a.insertion.lo).toBeLessThan(a.insertion.mean);
    expect(a.insertion.hi).toBeGreaterThan(a.insertion.mean);
    expect(b.layer).toBe('layer3');
    const d = b.versus!.insertion;
    expect(d.baseline).toBe('a');
    // Every pair differs by 0.1 .. 0.111: the mean is 0.1055 and the exact signed-rank p is 2 / 2^12.
    expect(d.difference.mean).toBeCloseTo(0.1055, 12);
    expect(d.difference.lo).toBeGreaterThanOrEqual(0.1);
    expect(d.difference.hi).toBeLessThanOrEqual(0.111);
    expect(d.test.method).toBe('exact');
    expect(d.test.p).toBeCloseTo(2 / 4096, 12);
    expect(b.versus!.deletion.test.p).toBe(1); // identical deletion: every difference is zero
    expect(() => summarise(fake(), { baseline: 'c' })).toThrow(/baseline method "c" was not evaluated/);
  });

  it('mean curves per step, with bands', () => {
    const [a, b] = meanCurves(fake(), 'insertion', 200);
    expect(a.y).toEqual([0, 0.5, 1]);
    expect(b.y[1]).toBeCloseTo(0.6, 12);
    expect(trapezoidAuc(b.y)).toBeCloseTo(0.55, 12);
  });
});

describe('evaluate and sanity on the command line (ResNet-20, 2 images)', () => {
  it('evaluate writes the summary, the per-image rows, the JSON and the curves; refuses a bad option first', async () => {
    const out = join(dir, 'evaluate');
    const common = [
      '--weights',
      cifarFile('resnet20.safetensors'),
      '--data',
      cifarFile('test1000.safetensors'),
      '--range',
      '3:5',
      '--out',
      out,
    ];
    await expect(evaluateCommand([...common, '--ig-rule', 'simpson'])).rejects.toThrow(/--ig-rule/);
    expect(existsSync(out)).toBe(false);
    await evaluateCommand([
      ...common,
      '--methods',
      'grad-cam,random',
      '--baseline',
      'centre-gaussian',
      '--pixels-per-step',
      '128',
      '--resamples',
      '200',
    ]);
    const csv = readFileSync(join(out, 'evaluate.csv'), 'utf8').trim().split('\n');
    expect(csv.map((l) => l.split(',')[0])).toEqual(['method', 'grad-cam', 'random', 'centre-gaussian']);
    expect(csv[1].split(',')[10]).toBe('centre-gaussian');
    const rows = readFileSync(join(out, 'evaluate-images.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1 + 3 * 2);
    const json = JSON.parse(readFileSync(join(out, 'evaluate.json'), 'utf8'));
    expect(json.perMethod[0].perImage[0].insertionCurve).toHaveLength(9); // 1024 px / 128 per step + the start
    for (const f of ['insertion.png', 'insertion.svg', 'deletion.png', 'deletion.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    await expect(evaluateCommand([...common, '--methods', 'grad-cam'])).rejects.toThrow(/--force/);
  });

  it('sanity writes tables, JSON and one curve per measure', async () => {
    const out = join(dir, 'sanity');
    const args = ['--weights', cifarFile('resnet20.safetensors'), '--data', cifarFile('test1000.safetensors'), '--range', '0:2'];
    await expect(sanityCommand([...args, '--mode', 'sideways', '--out', out])).rejects.toThrow(/--mode/);
    await sanityCommand([...args, '--methods', 'grad-cam,edge', '--granularity', 'module', '--resamples', '100', '--out', out]);
    const json = JSON.parse(readFileSync(join(out, 'sanity.json'), 'utf8'));
    expect(json.results[0].steps).toHaveLength(20);
    expect(readFileSync(join(out, 'sanity.md'), 'utf8')).toMatch(/\| linear and above \|/);
    for (const m of ['spearmanAbs', 'spearmanSigned', 'ssim', 'hog'])
      expect(existsSync(join(out, `sanity-cascading-${m}.png`)), m).toBe(true);
  });
});
