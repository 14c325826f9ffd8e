/** report.html: one self-contained page, per model a table (rows: batch; columns: precisions) and its charts side by side. */
import type { StudyResults } from '../results.js';
import type { ChartFile } from './charts.js';
import { sectionHeading } from './markdown.js';
import { buildSections, environmentLines, methodLines, unrunnable, unrunnableLine, type Table } from './tables.js';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function htmlTable(table: Table, heading = true): string {
  const head = `<tr>${table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = table.rows
    .map((row, r) => {
      const tds = row.map((v, i) => {
        const classes = [...(i === 0 ? ['key'] : []), ...(table.marks?.[r]?.[i] ?? [])];
        const text = v.split('\n').map(escapeHtml).join('<br/>');
        return `<td${classes.length ? ` class="${classes.join(' ')}"` : ''}>${text}</td>`;
      });
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `${heading ? `<h3>${escapeHtml(table.title)}</h3>\n` : ''}<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** An SVG to inline: drop an XML declaration, which is not allowed inside HTML. */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

export const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1320px}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.key{font-weight:600}
td.unstable{background:#fff4d6}td.contradicts{background:#fde2e2}td.failed,td.na{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0}
.charts svg{max-width:100%;height:auto}
.env li,.method li{font-size:.9rem}`;

export function toHtml(results: StudyResults, charts: ChartFile[]): string {
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>tensorrt-node study report</title>',
    `<style>${STYLE}</style></head><body>`,
    '<h1>tensorrt-node study report</h1>',
    `<ul class="env">${environmentLines(results).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    '<h2>Method</h2>',
    `<ul class="method">${methodLines(results).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
  ];
  for (const section of buildSections(results)) {
    parts.push(`<h2>${escapeHtml(sectionHeading(section.input, section.inputShape, section.label))}</h2>`);
    for (const table of section.modelTables) {
      parts.push(`<h3>${escapeHtml(table.title)}</h3>`, htmlTable(table, false));
      const mine = charts.filter((c) => c.input === section.input && c.model === table.model);
      if (mine.length) parts.push(`<div class="charts">${mine.map((c) => `<figure>${inlineSvg(c.svg)}</figure>`).join('\n')}</div>`);
    }
    if (section.accuracyTable) parts.push(htmlTable(section.accuracyTable));
    parts.push(htmlTable(section.buildTable));
  }
  const missing = unrunnable(results);
  if (missing.length) {
    parts.push('<h2>What did not run</h2><ul>');
    for (const m of missing) parts.push(`<li>${escapeHtml(unrunnableLine(m))}</li>`);
    parts.push('</ul>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
