import { describe, expect, it } from 'vitest';
import { colormapColor } from '../../src/image/colormap.js';
import { METHODS } from '../../src/methods/registry.js';
import { colourBarImage, colourLegendHtml } from '../../src/report/colour-bar.js';
import { demoIndex } from '../../src/report/demo-index.js';
import { explainReport, type ExplainRow } from '../../src/report/explain-report.js';
import { METHOD_GUIDE } from '../../src/report/method-guide.js';
import { createRgbImage } from '../../src/image/image.js';
import { withColourKey } from '../../src/report/strip.js';

const rows: ExplainRow[] = ['a.png', 'b.png'].map((image) => ({
  image,
  inputPng: `${image}.input.png`,
  predictions: [{ label: 'star', prob: 0.9 }],
  cells: METHODS.map((m) => ({ method: m.name, png: `${image}.${m.name}.png`, target: 'star' })),
}));
const methods = METHODS.map((m, i) => ({ name: m.name, title: m.title, seconds: i + 1 }));

describe('reports explain themselves', () => {
  it('have a reading sentence for every method in the registry', () => {
    const missing = METHODS.filter((m) => !METHOD_GUIDE[m.name]?.trim()).map((m) => m.name);
    expect(missing, 'add these to src/report/method-guide.ts').toEqual([]);
  });

  it('draw a colour bar from the colormap, labelled at both ends', () => {
    const bar = colourBarImage('jet', 120, 10);
    expect(bar.width).toBe(120);
    expect(Array.from(bar.data.subarray(0, 3))).toEqual(colormapColor('jet', 0));
    expect(Array.from(bar.data.subarray(3 * 119, 3 * 120))).toEqual(colormapColor('jet', 1));
    // Text under the bar: some dark pixels below row 10.
    expect(bar.data.subarray(3 * 120 * 12).some((v) => v < 128)).toBe(true);
    expect(() => colourBarImage('jet', 20)).toThrow(/too narrow/);
    expect(colourLegendHtml('viridis')).toContain('heatmaps (viridis)');
  });

  it("LayerTracer's strip carries its colour key: the bar spans the colormap, under the strip, with the shared range", () => {
    const strip = createRgbImage(400, 50, [10, 20, 30]);
    const keyed = withColourKey(strip, 'jet', [0.0012, 0.034]);
    expect(keyed.width).toBe(400);
    expect(keyed.height).toBeGreaterThan(50 + 10);
    // The strip is unchanged at the top.
    expect(Array.from(keyed.data.subarray(0, 3))).toEqual([10, 20, 30]);
    // Somewhere below it, a row holds the colormap's two ends.
    const row = (y: number) => keyed.data.subarray(y * keyed.width * 3, (y + 1) * keyed.width * 3);
    const has = (y: number, c: number[]) => {
      const r = row(y);
      for (let x = 0; x < keyed.width; x++) if (r[3 * x] === c[0] && r[3 * x + 1] === c[1] && r[3 * x + 2] === c[2]) return true;
      return false;
    };
    const bars = Array.from({ length: keyed.height - 50 }, (_, k) => 50 + k).filter(
      (y) => has(y, colormapColor('jet', 0)) && has(y, colormapColor('jet', 1)),
    );
    expect(bars.length).toBe(10);
    expect(withColourKey(strip, 'jet', null).height).toBe(keyed.height);
  });

  it("explain's report: legend, a card per method and image with its time, the reading guide", () => {
    const html = explainReport({ title: 'T', model: 'm', layer: 'layer3', colormap: 'jet', methods, rows });
    expect(html).toContain('class="colour-bar"');
    for (const r of rows) for (const m of METHODS) expect(html).toContain(`src="${r.image}.${m.name}.png"`);
    expect(html).toContain('How to read each method');
    // RISE: the 14th method took 14 s for 2 images.
    const rise = METHODS.findIndex((m) => m.name === 'rise');
    expect(html).toContain(`<td>${(rise + 1).toFixed(1)} s</td><td>${((rise + 1) / 2).toFixed(2)} s</td>`);
  });

  it('demo index: per model a thumbnail for every method and image, times per image, links', () => {
    const html = demoIndex({
      title: 'demo',
      intro: 'intro',
      colormap: 'jet',
      labels: ['star', 'ring'],
      facts: ['adapter x'],
      models: [
        {
          dir: 'resnet',
          title: 'ResNet',
          facts: ['cifar_resnet8'],
          rows,
          methods,
          links: [['LayerTracer strips', 'resnet-trace/layertracer.html']],
        },
      ],
    });
    for (const r of rows) for (const m of METHODS) expect(html).toContain(`<img src="resnet/${r.image}.${m.name}.png"`);
    expect(html).toContain('true: ring');
    expect(html).toContain('href="resnet/index.html"');
    expect(html).toContain('href="resnet-trace/layertracer.html"');
    expect(html).toContain('class="colour-bar"');
    for (const m of METHODS) expect(html).toContain(METHOD_GUIDE[m.name].replace(/'/g, '&#39;'));
  });
});
