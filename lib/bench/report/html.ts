/** report.html: one self-contained page with the tables and the charts inline. */
import type { StudyResults } from '../results.js';
import type { ChartFile } from './charts.js';
import { buildSections, environmentLines, unrunnable, type Table } from './tables.js';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlTable(table: Table): string {
  const head = `<tr>${table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row) => `<tr>${row.map((v, i) => `<td${i === 0 ? ' class="key"' : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  return `<h3>${escapeHtml(table.title)}</h3>\n<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** An SVG to inline: drop an XML declaration, which is not allowed inside HTML. */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f2f2f2}td.key{text-align:left;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0}
.env li{font-size:.9rem}`;

export function toHtml(results: StudyResults, charts: ChartFile[]): string {
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>tensorrt-node study report</title>',
    `<style>${STYLE}</style></head><body>`,
    '<h1>tensorrt-node study report</h1>',
    `<ul class="env">${environmentLines(results).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    '<p>"base" is ONNX Runtime FP32 with graph optimizations disabled. Speedup (Eq. 19) = latency_base / latency_q; improvement factor (Eq. 20) = throughput_q / throughput_base, at the same batch size. "n/a": cannot run on this machine.</p>',
  ];
  for (const section of buildSections(results)) {
    parts.push(`<h2>Input ${escapeHtml(section.input)} (${section.inputShape.join('x')})</h2>`);
    const sectionCharts = charts.filter((c) => c.input === section.input);
    if (sectionCharts.length) {
      parts.push(`<div class="charts">${sectionCharts.map((c) => `<figure>${inlineSvg(c.svg)}</figure>`).join('\n')}</div>`);
    }
    for (const table of section.metricTables) parts.push(htmlTable(table));
    if (section.accuracyTable) parts.push(htmlTable(section.accuracyTable));
    parts.push(htmlTable(section.buildTable));
  }
  const missing = unrunnable(results);
  if (missing.length) {
    parts.push('<h2>Cells that did not run</h2><ul>');
    for (const m of missing) parts.push(`<li>${escapeHtml(`${m.input} ${m.model} ${m.column} (batch ${m.batchSizes.join(', ')}): ${m.status}, ${m.code}: ${m.message}`)}</li>`);
    parts.push('</ul>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
