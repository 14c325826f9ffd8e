/** report.md: per input setting one table per model, charts, accuracy and build tables, and what did not run. */
import type { StudyResults } from '../results.js';
import { buildSections, environmentLines, methodLines, unrunnable, unrunnableLine, type Table } from './tables.js';
import type { ChartFile } from './charts.js';

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub table; text left-aligned, multi-line cells joined with <br>. */
export function markdownTable(table: Pick<Table, 'header' | 'rows'>): string {
  const align = table.header.map(() => ':---');
  return [table.header, align, ...table.rows].map((row) => `| ${row.map(escapeCell).join(' | ')} |`).join('\n');
}

export function sectionHeading(input: string, shape: readonly number[], label?: string): string {
  return `Input ${input}${input === shape.join('x') ? '' : ` (${shape.join('x')})`}${label ? `: ${label}` : ''}`;
}

export function toMarkdown(results: StudyResults, charts: ChartFile[] = []): string {
  const out: string[] = ['# tensorrt-node study report', ''];
  out.push(...environmentLines(results).map((l) => `- ${l}`), '');
  out.push('## Method', '', ...methodLines(results).map((l) => `- ${l}`), '');
  for (const section of buildSections(results)) {
    out.push(`## ${sectionHeading(section.input, section.inputShape, section.label)}`, '');
    for (const table of section.modelTables) {
      out.push(`### ${table.title}`, '', markdownTable(table), '');
      for (const c of charts.filter((x) => x.input === section.input && x.model === table.model)) out.push(`![${c.title}](${c.file})`);
      out.push('');
    }
    if (section.accuracyTable) out.push(`### ${section.accuracyTable.title}`, '', markdownTable(section.accuracyTable), '');
    out.push(`### ${section.buildTable.title}`, '', markdownTable(section.buildTable), '');
  }
  const missing = unrunnable(results);
  if (missing.length) {
    out.push('## What did not run', '');
    for (const m of missing) out.push(`- ${escapeCell(unrunnableLine(m))}`);
    out.push('');
  }
  return out.join('\n');
}
