// Timed benchmarks on the shared machine run one at a time: re-execute this script as `flock /tmp/trtn-bench.lock
// node ...` unless TRTN_BENCH_LOCKED=1 says the caller holds the lock already (then return and run).
import { spawnSync } from 'node:child_process';

export const BENCH_LOCK = '/tmp/trtn-bench.lock';

export function holdBenchLock() {
  if (process.env.TRTN_BENCH_LOCKED === '1') return;
  const r = spawnSync('flock', [BENCH_LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, TRTN_BENCH_LOCKED: '1' } });
  if (r.error) throw new Error(`cannot run under flock ${BENCH_LOCK}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
