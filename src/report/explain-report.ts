import { escapeHtml, page } from './html.js';

export interface ExplainRow {
  image: string;
  /** The preprocessed image the model saw (file name relative to the report). */
  inputPng: string;
  predictions: { label: string; prob: number }[];
  cells: { method: string; png: string; target: string; note?: string }[];
}

/** All methods side by side: one row per image, one column per method. */
export function explainReport(title: string, model: string, layer: string, methods: { name: string; title: string }[], rows: ExplainRow[]): string {
  const header = `<tr><th>input</th><th>top-5</th>${methods.map((m) => `<th>${escapeHtml(m.title)}</th>`).join('')}</tr>`;
  const body = rows
    .map((r) => {
      const preds = r.predictions.map((p) => `${escapeHtml(p.label)} ${(p.prob * 100).toFixed(1)}%`).join('<br>');
      const cells = methods
        .map((m) => {
          const c = r.cells.find((x) => x.method === m.name);
          if (!c) return '<td class="note">n/a</td>';
          return `<td><img class="map" src="${escapeHtml(c.png)}" alt="${escapeHtml(m.title)}"><div class="note">${escapeHtml(c.target)}${c.note ? `<br>${escapeHtml(c.note)}` : ''}</div></td>`;
        })
        .join('');
      return `<tr><td><img class="map" src="${escapeHtml(r.inputPng)}" alt="input"><div class="note">${escapeHtml(r.image)}</div></td><td class="preds">${preds}</td>${cells}</tr>`;
    })
    .join('\n');
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1><div class="meta">model ${escapeHtml(model)} · CAM layer ${escapeHtml(layer)} · made by LayerTracer</div><table>${header}\n${body}</table>`,
  );
}
