// The CPU study (preset study-cpu, or --preset study-cpu-quick) without the CLI, under the shared benchmark lock:
//   node bench/study-cpu.mjs [outDir (default bench/results/study-cpu)] [--preset study-cpu-quick] [--duration s]
//        [--warmup ms] [--iterations n]
// Build first: npx tsc -p tsconfig.json. Writes the reports and results.json to outDir and prints the tables.
// Re-executes itself as `flock /tmp/trtn-bench.lock node ...` unless TRTN_BENCH_LOCKED=1 says the caller holds it.
// Compare two runs with: node dist/cli/main.js report --compare a/results.json b/results.json
import { holdBenchLock } from './bench-lock.mjs';

holdBenchLock();

await import('../dist/index.js'); // registers the backends the library ships
const { runStudy, writeReports, createProgressReporter, toMarkdown } = await import('../dist/bench/index.js');

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const preset = flag('--preset') ?? 'study-cpu';
const duration = flag('--duration');
const warmup = flag('--warmup');
const iterations = flag('--iterations');
const out = args[0] ?? 'bench/results/study-cpu';

const progress = createProgressReporter(process.stderr);
const results = await runStudy(
  {
    preset,
    ...(duration ? { durationMs: Number(duration) * 1000 } : {}),
    ...(warmup ? { warmupMs: Number(warmup) } : {}),
    ...(iterations ? { iterations: Number(iterations) } : {}),
  },
  { onProgress: progress.onProgress },
);
progress.finish();
const written = await writeReports(results, out);
console.log(toMarkdown(results));
const unstable = results.cells.filter((c) => c.unstable).length;
console.log(`\nwrote ${written.files.length} files to ${out}/ in ${(results.durationMs / 1000).toFixed(1)} s; ${unstable} unstable cells; load at start ${results.environment.loadAverage.join(' / ')}`);
