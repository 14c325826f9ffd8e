/** `trt-node report <results.json>`: regenerate the reports from a results file. */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { readResults } from '../bench/results.js';
import { writeReports } from '../bench/report/write.js';

export async function reportAction(file: string, flags: { out?: string }): Promise<void> {
  const results = await readResults(file);
  const written = await writeReports(results, flags.out ?? dirname(file));
  process.stderr.write(`wrote ${written.files.length} files to ${written.dir}/\n`);
}

export function registerReport(program: Command): Command {
  return program
    .command('report')
    .description('Regenerate report.md, report.html, results.csv and charts from a results.json')
    .argument('<results>', 'a results.json written by trt-node bench')
    .option('-o, --out <dir>', "output directory (default: the results file's directory)")
    .action(reportAction);
}
