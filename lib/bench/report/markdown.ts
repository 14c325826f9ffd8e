/** report.md: the study's tables per input setting, chart links, and the cells that did not run with their reason. */
import type { StudyResults } from '../results.js';
import { buildSections, environmentLines, unrunnable, type Table } from './tables.js';
import type { ChartFile } from './charts.js';

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function markdownTable(table: Table): string {
  const align = table.header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [table.header, align, ...table.rows].map((row) => `| ${row.map(escapeCell).join(' | ')} |`).join('\n');
}

export function toMarkdown(results: StudyResults, charts: ChartFile[] = []): string {
  const out: string[] = ['# tensorrt-node study report', ''];
  out.push(...environmentLines(results).map((l) => `- ${l}`), '');
  out.push(
    '"base" is the unoptimized framework (ONNX Runtime FP32, graph optimizations disabled). Speedup (Eq. 19) is',
    'latency_base / latency_q and improvement factor (Eq. 20) is throughput_q / throughput_base at the same batch size,',
    'both from median latencies. "n/a": cannot run on this machine; "failed": tried and failed (reasons below).',
    '',
  );
  for (const section of buildSections(results)) {
    out.push(`## Input ${section.input} (${section.inputShape.join('x')})`, '');
    for (const table of section.metricTables) out.push(`### ${table.title}`, '', markdownTable(table), '');
    if (section.accuracyTable) out.push(`### ${section.accuracyTable.title}`, '', markdownTable(section.accuracyTable), '');
    out.push(`### ${section.buildTable.title}`, '', markdownTable(section.buildTable), '');
    const sectionCharts = charts.filter((c) => c.input === section.input);
    if (sectionCharts.length) {
      out.push('### Charts', '');
      for (const c of sectionCharts) out.push(`![${c.title}](${c.file})`, '');
    }
  }
  const missing = unrunnable(results);
  if (missing.length) {
    out.push('## Cells that did not run', '');
    for (const m of missing) out.push(`- ${m.input} ${m.model} ${m.column} (batch ${m.batchSizes.join(', ')}): ${m.status}, ${m.code}: ${escapeCell(m.message)}`);
    out.push('');
  }
  return out.join('\n');
}
