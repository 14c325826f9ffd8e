/** `trt-node report <results.json>`: regenerate the reports; `--compare a.json b.json`: compare two runs. */
import { dirname, join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TrtnError } from '../errors.js';
import { readResults } from '../bench/results.js';
import { writeReports } from '../bench/report/write.js';
import { compareResults, comparisonSummary, comparisonTable, parseThreshold } from '../bench/compare.js';
import { markdownTable } from '../bench/report/markdown.js';
import { escapeHtml, htmlTable, STYLE } from '../bench/report/html.js';

/** Exit code of `report --compare` when a cell regressed beyond the threshold (errors exit 1). */
export const EXIT_REGRESSION = 3;

export interface ReportFlags {
  out?: string;
  compare?: boolean;
  threshold?: string;
}

async function compareAction(files: string[], flags: ReportFlags): Promise<void> {
  if (files.length !== 2) throw new TrtnError('ERR_INVALID_ARG', `--compare takes two results files (a then b), received ${files.length}`);
  const [a, b] = await Promise.all(files.map((f) => readResults(f)));
  const comparison = compareResults(a!, b!, { names: [files[0]!, files[1]!], ...(flags.threshold !== undefined ? { threshold: parseThreshold(flags.threshold) } : {}) });
  const table = comparisonTable(comparison);
  const summary = comparisonSummary(comparison);
  const md = [`# Comparison: ${files[1]} against ${files[0]}`, '', `${summary}.`, '', 'ratio = b / a; a change within the larger of the two cells\' noise is "within noise".', '', markdownTable(table), ''].join('\n');
  process.stdout.write(`${md}\n`);
  if (flags.out) {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tensorrt-node comparison</title><style>${STYLE}</style></head><body><h1>Comparison</h1><p>${escapeHtml(summary)}</p>${htmlTable({ title: 'Cells', ...table })}</body></html>\n`;
    try {
      await mkdir(flags.out, { recursive: true });
      await writeFile(join(flags.out, 'compare.md'), md);
      await writeFile(join(flags.out, 'compare.html'), html);
      await writeFile(join(flags.out, 'compare.json'), `${JSON.stringify(comparison, null, 2)}\n`);
    } catch (err) {
      throw new TrtnError('ERR_IO', `cannot write the comparison to '${flags.out}': ${(err as Error).message}`, { file: flags.out }, { cause: err });
    }
  }
  process.stderr.write(`${summary}\n`);
  if (comparison.regressions > 0) process.exitCode = EXIT_REGRESSION;
}

export async function reportAction(files: string | string[], flags: ReportFlags = {}): Promise<void> {
  const list = Array.isArray(files) ? files : [files];
  if (flags.compare) return compareAction(list, flags);
  if (flags.threshold !== undefined) throw new TrtnError('ERR_INVALID_ARG', '--threshold applies to --compare only');
  if (list.length !== 1) throw new TrtnError('ERR_INVALID_ARG', `report takes one results file (or --compare a.json b.json), received ${list.length}`);
  const results = await readResults(list[0]!);
  const written = await writeReports(results, flags.out ?? dirname(list[0]!));
  process.stderr.write(`wrote ${written.files.length} files to ${written.dir}/ (${written.charts} charts)\n`);
}

export function registerReport(program: Command): Command {
  return program
    .command('report')
    .description('Regenerate report.md, report.html, results.csv and charts from a results.json; or compare two runs')
    .argument('<results...>', 'a results.json written by trt-node bench (two with --compare: a then b)')
    .option('-o, --out <dir>', "output directory (default: the results file's directory; with --compare: none, print only)")
    .option('--compare', 'compare two runs: ratio b/a of every matching cell, changes beyond the cells\' noise flagged')
    .option('--threshold <fraction>', `with --compare: exit ${EXIT_REGRESSION} when a cell is slower beyond its noise and by more than this (0.1 or 10%; default 10%)`)
    .action(reportAction);
}
