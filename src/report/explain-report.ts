import { escapeHtml, page } from './html.js';

export interface ExplainRow {
  image: string;
  /** The preprocessed image the model saw (file name relative to the report). */
  inputPng: string;
  predictions: { label: string; prob: number }[];
  cells: { method: string; png: string; target: string; note?: string }[];
}

/** All methods side by side: per image, the input and its top-5, then one card per method (wrapping). */
export function explainReport(
  title: string,
  model: string,
  layer: string,
  methods: { name: string; title: string }[],
  rows: ExplainRow[],
): string {
  const body = rows
    .map((r) => {
      const preds = r.predictions.map((p) => `${escapeHtml(p.label)} ${(p.prob * 100).toFixed(1)}%`).join('<br>');
      const cards = methods
        .map((m) => {
          const c = r.cells.find((x) => x.method === m.name);
          if (!c) return '';
          return `<figure><img class="map" src="${escapeHtml(c.png)}" alt="${escapeHtml(m.title)}"><figcaption><b>${escapeHtml(m.title)}</b><br>${escapeHtml(c.target)}${c.note ? `<br>${escapeHtml(c.note)}` : ''}</figcaption></figure>`;
        })
        .join('');
      return `<section><h2>${escapeHtml(r.image)}</h2><div class="cards"><figure><img class="map" src="${escapeHtml(r.inputPng)}" alt="input"><figcaption><b>input</b><div class="preds">${preds}</div></figcaption></figure>${cards}</div></section>`;
    })
    .join('\n');
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><div class="meta">model ${escapeHtml(model)} · CAM layer ${escapeHtml(layer)} · made by LayerTracer</div>\n${body}`,
  );
}
