/**
 * A failure ONNX Runtime reports reaches the caller as a TrtnError; ORT's own red log line for it is kept out of
 * the output (sessions log at fatal only unless TRTN_ORT_LOG_SEVERITY says otherwise), so `npm test` shows no
 * error lines from tests that provoke failures on purpose.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./scripts/ort-run-failure.mjs', import.meta.url));
const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });

describe("ONNX Runtime's log", () => {
  it('a failed run is ERR_INFERENCE with no ORT error line on stderr', () => {
    const { TRTN_ORT_LOG_SEVERITY: _, ...env } = process.env;
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env, timeout: 120_000 });
    expect(r.stdout.trim()).toBe('caught ERR_INFERENCE');
    expect(r.stderr).not.toMatch(/\[E:onnxruntime/);
  });

  it('TRTN_ORT_LOG_SEVERITY=3 shows the same failure in ORT\'s own words', () => {
    const r = run({ TRTN_ORT_LOG_SEVERITY: '3' });
    expect(r.stdout.trim()).toBe('caught ERR_INFERENCE');
    expect(r.stderr).toMatch(/\[E:onnxruntime.*reshape_by_3/);
  });
});
