/** Minimal, dependency-free HTML building for the reports (escaped text, inline CSS). */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const REPORT_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #666; margin-bottom: 16px; }
table { border-collapse: collapse; } td, th { padding: 6px; text-align: center; vertical-align: top; }
th { font-weight: 600; font-size: 12px; color: #444; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; max-width: 1200px; }
figure { margin: 0; width: 160px; font-size: 11px; color: #444; }
figcaption { margin-top: 4px; line-height: 1.3; }
img.map { width: 160px; height: 160px; image-rendering: pixelated; border: 1px solid #ddd; background: #fff; }
.preds { text-align: left; font-size: 11px; white-space: nowrap; margin-top: 2px; }
.note { font-size: 11px; color: #777; }
a img.map:hover { border-color: #2563eb; }
.legend { display: flex; flex-wrap: wrap; gap: 12px 32px; margin: 8px 0 16px; }
.legend-item { width: 320px; }
.colour-bar { height: 12px; border: 1px solid #ccc; }
.colour-bar-labels { display: flex; justify-content: space-between; font-size: 11px; color: #444; }
table.guide { max-width: 1200px; font-size: 12px; } table.guide td, table.guide th { border-bottom: 1px solid #e4e4e4; }
.left { text-align: left; } td.reading { color: #333; max-width: 640px; }
table.thumbs img { width: 72px; height: 72px; image-rendering: pixelated; border: 1px solid #ddd; display: block; }
table.thumbs td { padding: 3px; } table.thumbs td.method { text-align: left; white-space: nowrap; font-weight: 600; font-size: 12px; }
table.thumbs td.time { font-size: 12px; color: #444; white-space: nowrap; } table.thumbs td.reading { font-size: 11px; max-width: 420px; }
`;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${REPORT_CSS}</style></head>
<body>${body}</body></html>
`;
}
