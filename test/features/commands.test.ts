import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EMBED_HELP, embedCommand } from '../../src/cli/embed.js';
import { FILTERS_HELP, filtersCommand } from '../../src/cli/filters.js';
import { NEIGHBOURS_HELP, neighboursCommand } from '../../src/cli/neighbours.js';
import { PATCHES_HELP, parseIndexList, patchesCommand } from '../../src/cli/patches.js';
import { readSafetensorsFile } from '../../src/io/safetensors-node.js';
import { cifarFile } from '../util/shared-data.js';

const dir = await mkdtemp(join(tmpdir(), 'layertracer-features-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const weights = cifarFile('resnet20.safetensors');
const data = cifarFile('test1000.safetensors');

// Commands print progress and results; keep the test log readable.
vi.spyOn(console, 'log').mockImplementation(() => {});

describe('feature commands', () => {
  it('have help texts naming every option they parse', () => {
    for (const [help, options] of [
      [FILTERS_HELP, ['--weights', '--layer', '--grey', '--max-filters', '--max-channels', '--scale', '--out', '--force']],
      [
        PATCHES_HELP,
        ['--weights', '--data', '--layer', '--channels', '--top', '--limit', '--batch', '--scale', '--crop', '--out', '--force'],
      ],
      [NEIGHBOURS_HELP, ['--weights', '--data', '--queries', '--k', '--metric', '--layer', '--limit', '--batch', '--out', '--force']],
      [
        EMBED_HELP,
        ['--weights', '--data', '--method', '--layer', '--limit', '--perplexity', '--iterations', '--seed', '--batch', '--out', '--force'],
      ],
    ] as const) {
      for (const o of options) expect(help).toContain(o);
    }
  });

  it('parse index lists and ranges, and reject junk', () => {
    expect(parseIndexList('0,5,7', '--channels')).toEqual([0, 5, 7]);
    expect(parseIndexList('0-3,8,2', '--channels')).toEqual([0, 1, 2, 3, 8]);
    expect(() => parseIndexList('a', '--channels')).toThrow(/--channels: "a" is not an index/);
    expect(() => parseIndexList('5-2', '--channels')).toThrow(/empty/);
  });

  it('refuse missing arguments with a usage error', async () => {
    await expect(filtersCommand([])).rejects.toThrow(/--weights FILE is required/);
    await expect(patchesCommand(['--weights', weights, '--data', data, '--layer', 'layer1'])).rejects.toThrow(
      /--channels LIST is required/,
    );
    await expect(neighboursCommand(['--weights', weights, '--data', data, '--queries', '1', '--metric', 'manhattan'])).rejects.toThrow(
      /--metric must be one of euclidean, cosine; got "manhattan"/,
    );
    await expect(embedCommand(['--weights', weights, '--data', data, '--method', 'umap'])).rejects.toThrow(
      /--method must be one of pca, tsne, both/,
    );
  });

  it('filters writes a grid and never overwrites it without --force; unknown layers list valid ones', async () => {
    await filtersCommand(['--weights', weights, '--out', dir]);
    expect(existsSync(join(dir, 'filters.conv1.png'))).toBe(true);
    await expect(filtersCommand(['--weights', weights, '--out', dir])).rejects.toThrow(/already exist .*; pass --force/);
    await filtersCommand(['--weights', weights, '--out', dir, '--force']);
    await expect(filtersCommand(['--weights', weights, '--layer', 'layer1.0.conv9', '--out', dir])).rejects.toThrow(
      /unknown layer "layer1.0.conv9". Did you mean: layer1.0.conv1/,
    );
  });

  it('neighbours checks queries against the data before any work', async () => {
    await expect(
      neighboursCommand(['--weights', weights, '--data', data, '--queries', '3,25', '--limit', '20', '--out', dir]),
    ).rejects.toThrow(/--queries: image 25 is out of range; the data has images 0..19/);
  });

  it('embed writes PCA and t-SNE plots (PNG, SVG) and the coordinates', async () => {
    await embedCommand([
      '--weights',
      weights,
      '--data',
      data,
      '--limit',
      '24',
      '--perplexity',
      '5',
      '--iterations',
      '60',
      '--batch',
      '12',
      '--out',
      dir,
    ]);
    for (const m of ['pca', 'tsne']) {
      expect(existsSync(join(dir, `embed.flatten.${m}.png`))).toBe(true);
      expect(existsSync(join(dir, `embed.flatten.${m}.svg`))).toBe(true);
    }
    const saved = await readSafetensorsFile(join(dir, 'embed.flatten.safetensors'));
    expect(saved.info('tsne').shape).toEqual([24, 2]);
    expect(saved.info('pca').shape).toEqual([24, 2]);
    expect(saved.metadata.layer).toBe('flatten');
    // The same coordinates as CSV, one row per image with its label and class name.
    const csv = (await readFile(join(dir, 'embed.flatten.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('index,name,label,class,pca_x,pca_y,tsne_x,tsne_y');
    expect(csv).toHaveLength(25);
    const labels = saved.getF32('labels');
    const pca = saved.getF32('pca');
    const row = csv[3].split(',');
    expect(row.slice(0, 3)).toEqual(['2', '#2', String(labels[2])]);
    expect(row[3]).toMatch(/^[a-z]+$/);
    expect(Number(row[4])).toBeCloseTo(pca[4], 4);
    // Axes: tick values and labels are part of the plot.
    const svg = await readFile(join(dir, 'embed.flatten.pca.svg'), 'utf8');
    expect(svg).toMatch(/PC1 \(\d+\.\d% of the variance\)/);
    expect(svg).toMatch(/<text[^>]*text-anchor="middle">-?\d/);
  });
});
