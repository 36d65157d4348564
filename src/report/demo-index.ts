/**
 * The demo's front page: per model, a table with one row per method and one thumbnail per image
 * (linking to the full-size picture), the method's time per image and how to read it; the colour
 * legend once at the top.
 */
import type { ColormapName } from '../image/colormap.js';
import { colourLegendHtml } from './colour-bar.js';
import type { ExplainRow, ReportMethod } from './explain-report.js';
import { predictionsHtml, seconds } from './explain-report.js';
import { escapeHtml, page } from './html.js';
import { methodGuide } from './method-guide.js';

export interface DemoModelSection {
  /** Folder of the model's explain report, relative to the index. */
  dir: string;
  title: string;
  facts: string[];
  rows: ExplainRow[];
  methods: ReportMethod[];
  /** Extra links (e.g. LayerTracer strips) as [text, href relative to the index]. */
  links: [string, string][];
}

export interface DemoIndexSpec {
  title: string;
  intro: string;
  colormap: ColormapName;
  /** Ground truth per image, in the rows' order. */
  labels: string[];
  models: DemoModelSection[];
  facts: string[];
}

function modelSection(m: DemoModelSection, labels: string[]): string {
  const href = (file: string) => escapeHtml(`${m.dir}/${file}`);
  const inputs = m.rows
    .map(
      (r, i) =>
        `<td><a href="${href(r.inputPng)}"><img src="${href(r.inputPng)}" alt="${escapeHtml(r.image)}"></a><div class="note">true: ${escapeHtml(labels[i] ?? '?')}<br>${predictionsHtml(r.predictions.slice(0, 1))}</div></td>`,
    )
    .join('');
  const methodRows = m.methods
    .map((meth) => {
      const cells = m.rows
        .map((r) => {
          const c = r.cells.find((x) => x.method === meth.name);
          return c
            ? `<td><a href="${href(c.png)}" title="${escapeHtml(c.target)}"><img src="${href(c.png)}" alt="${escapeHtml(meth.title)}"></a></td>`
            : '<td></td>';
        })
        .join('');
      const time = meth.seconds === undefined ? '' : seconds(meth.seconds / Math.max(1, m.rows.length));
      return `<tr><td class="method">${escapeHtml(meth.title)}</td>${cells}<td class="time">${time}</td><td class="reading left">${escapeHtml(methodGuide(meth.name))}</td></tr>`;
    })
    .join('\n');
  const links = [[`all methods, full size`, `${m.dir}/index.html`], ...m.links]
    .map(([text, link]) => `<a href="${escapeHtml(link)}">${escapeHtml(text)}</a>`)
    .join(' · ');
  return `<section><h2>${escapeHtml(m.title)}</h2><div class="meta">${m.facts.map(escapeHtml).join(' · ')}<br>${links}</div>
<table class="thumbs"><tr><td class="method">input</td>${inputs}<th>time per image</th><th class="left">how to read it</th></tr>
${methodRows}</table></section>`;
}

export function demoIndex(spec: DemoIndexSpec): string {
  return page(
    spec.title,
    `<h1>${escapeHtml(spec.title)}</h1><div class="meta">${escapeHtml(spec.intro)}<br>${spec.facts.map(escapeHtml).join(' · ')}</div>${colourLegendHtml(spec.colormap)}\n${spec.models.map((m) => modelSection(m, spec.labels)).join('\n')}`,
  );
}
