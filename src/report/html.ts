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
`;

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${REPORT_CSS}</style></head>
<body>${body}</body></html>
`;
}
