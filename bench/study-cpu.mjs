// The CPU study (preset study-cpu) without the CLI: node bench/study-cpu.mjs [outDir] [--iterations N]
// Build first: npx tsc -p tsconfig.json. Prints the report's tables; writes the reports to outDir
// (default study-report/) and the raw results to bench/results/study-cpu.json.
import { mkdir, writeFile } from 'node:fs/promises';
import '../dist/index.js'; // registers the backends the library ships
import { runStudy, writeReports, createProgressReporter, toMarkdown } from '../dist/bench/index.js';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const iterations = flag('--iterations');
const warmup = flag('--warmup');
const out = args[0] ?? 'study-report';

const progress = createProgressReporter(process.stderr);
const results = await runStudy(
  { preset: 'study-cpu', ...(iterations ? { iterations: Number(iterations) } : {}), ...(warmup ? { warmup: Number(warmup) } : {}) },
  { onProgress: progress.onProgress },
);
progress.finish();
await writeReports(results, out);
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/study-cpu.json', `${JSON.stringify(results, null, 2)}\n`);
console.log(toMarkdown(results));
console.log(`\nwrote ${out}/ and bench/results/study-cpu.json in ${(results.durationMs / 1000).toFixed(1)} s`);
