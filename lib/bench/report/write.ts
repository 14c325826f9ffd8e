/** Write every report for a results object into a directory. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrtnError } from '../../errors.js';
import type { StudyResults } from '../results.js';
import { renderCharts } from './charts.js';
import { toCsv } from './csv.js';
import { toHtml } from './html.js';
import { toMarkdown } from './markdown.js';

export interface WrittenReport {
  dir: string;
  /** Paths written, relative to dir. */
  files: string[];
  /** Charts among them (0 when no cell could be charted). */
  charts: number;
}

async function write(dir: string, relative: string, content: string): Promise<void> {
  const file = join(dir, relative);
  try {
    await writeFile(file, content);
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot write '${file}': ${(err as Error).message}`, { file }, { cause: err });
  }
}

/** results.json, results.csv, report.md, report.html and charts/*.svg under `dir` (created if missing). */
export async function writeReports(results: StudyResults, dir: string): Promise<WrittenReport> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot create report directory '${dir}': ${(err as Error).message}`, { file: dir }, { cause: err });
  }
  const charts = await renderCharts(results);
  if (charts.length) await mkdir(join(dir, 'charts'), { recursive: true });
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(results, null, 2)}\n`],
    ['results.csv', toCsv(results)],
    ['report.md', toMarkdown(results, charts)],
    ['report.html', toHtml(results, charts)],
    ...charts.map((c) => [c.file, c.svg] as [string, string]),
  ];
  for (const [relative, content] of files) await write(dir, relative, content);
  return { dir, files: files.map(([f]) => f), charts: charts.length };
}
