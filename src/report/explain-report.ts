import type { ColormapName } from '../image/colormap.js';
import { colourLegendHtml } from './colour-bar.js';
import { escapeHtml, page } from './html.js';
import { methodGuide } from './method-guide.js';

export interface ExplainRow {
  image: string;
  /** The picture the model saw (file name relative to the report). */
  inputPng: string;
  predictions: { label: string; prob: number }[];
  /** Where E2CM lets the image leave the network, when class means were given. */
  exit?: string;
  cells: { method: string; png: string; target: string; note?: string }[];
}

export interface ReportMethod {
  name: string;
  title: string;
  /** Wall time of the method over all the report's images. */
  seconds?: number;
}

export interface ExplainReportSpec {
  title: string;
  model: string;
  layer: string;
  colormap: ColormapName;
  methods: ReportMethod[];
  rows: ExplainRow[];
  /** Extra facts for the header line (settings, adapter). */
  facts?: string[];
}

export const seconds = (s: number) => (s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);

/** "How to read each method" with its timing: one row per method. */
export function methodGuideTable(methods: ReportMethod[], images: number): string {
  const timed = methods.some((m) => m.seconds !== undefined);
  const head = `<tr><th>method</th>${timed ? `<th>time (${images} image${images === 1 ? '' : 's'})</th><th>per image</th>` : ''}<th class="left">how to read it</th></tr>`;
  const body = methods
    .map(
      (m) =>
        `<tr><td class="left"><b>${escapeHtml(m.title)}</b></td>${
          timed
            ? `<td>${m.seconds === undefined ? '' : seconds(m.seconds)}</td><td>${m.seconds === undefined ? '' : seconds(m.seconds / images)}</td>`
            : ''
        }<td class="left reading">${escapeHtml(methodGuide(m.name))}</td></tr>`,
    )
    .join('');
  return `<table class="guide">${head}${body}</table>`;
}

/** Top-5 as "label 97.1%" lines. */
export function predictionsHtml(predictions: { label: string; prob: number }[]): string {
  return predictions.map((p) => `${escapeHtml(p.label)} ${(p.prob * 100).toFixed(1)}%`).join('<br>');
}

/**
 * All methods side by side: a legend, per image the input with its top-5 then one card per method
 * (wrapping), each with its target, layer and time, and at the end how to read each method.
 */
export function explainReport(spec: ExplainReportSpec): string {
  const { rows, methods } = spec;
  const perImage = (m: ReportMethod) => (m.seconds === undefined ? '' : ` · ${seconds(m.seconds / rows.length)}`);
  const body = rows
    .map((r) => {
      const cards = methods
        .map((m) => {
          const c = r.cells.find((x) => x.method === m.name);
          if (!c) return '';
          return `<figure title="${escapeHtml(methodGuide(m.name))}"><a href="${escapeHtml(c.png)}"><img class="map" src="${escapeHtml(c.png)}" alt="${escapeHtml(m.title)}"></a><figcaption><b>${escapeHtml(m.title)}</b><br>${escapeHtml(c.target)}${perImage(m)}${c.note ? `<br>${escapeHtml(c.note)}` : ''}</figcaption></figure>`;
        })
        .join('');
      return `<section><h2>${escapeHtml(r.image)}</h2><div class="cards"><figure><img class="map" src="${escapeHtml(r.inputPng)}" alt="input"><figcaption><b>input</b> (as the model sees it)<div class="preds">${predictionsHtml(r.predictions)}</div>${r.exit ? `<div class="note">E2CM: ${escapeHtml(r.exit)}</div>` : ''}</figcaption></figure>${cards}</div></section>`;
    })
    .join('\n');
  const facts = [`model ${spec.model}`, `CAM layer ${spec.layer}`, ...(spec.facts ?? []), 'made by LayerTracer'];
  return page(
    spec.title,
    `<h1>${escapeHtml(spec.title)}</h1><div class="meta">${facts.map(escapeHtml).join(' · ')}</div>${colourLegendHtml(spec.colormap)}\n${body}\n<h2>How to read each method</h2>${methodGuideTable(methods, rows.length)}`,
  );
}
