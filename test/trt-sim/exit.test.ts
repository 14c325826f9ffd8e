// process.exit() while a build is inside TensorRT (here: the simulator's builder, calibrating from a slow loader):
// the exit waits until the job has left TensorRT instead of tearing the library's state down under it.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIM_ADDON, CNN } from './simulator.js';
import { packageRoot } from '../../lib/native/addon.js';

describe('process.exit during a TensorRT build', () => {
  it('exits cleanly with the code given, after the build thread left TensorRT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trtn-exit-'));
    const script = join(dir, 'exit.mjs');
    // The compiled package (npm install builds dist/), as a user's script would import it.
    writeFileSync(script, `
      import { buildEngine } from ${JSON.stringify(resolve(packageRoot, 'dist/index.js'))};
      import { nativeAddon } from ${JSON.stringify(resolve(packageRoot, 'dist/native/addon.js'))};
      nativeAddon().trtSimConfigure({ version: '10.16' });
      async function* slow() {
        for (let i = 0; i < 1000; i++) {
          await new Promise((r) => setTimeout(r, 5));
          yield { input: { data: new Float32Array(32 * 784), dims: [32, 1, 28, 28], dtype: 'float32' } };
        }
      }
      buildEngine(${JSON.stringify(CNN)}, { precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { data: slow() }, logger: () => {} }).catch(() => {});
      setTimeout(() => { console.log('exiting'); process.exit(7); }, 300);
    `);
    let status = 0;
    let out = '';
    try {
      out = execFileSync(process.execPath, [script], {
        cwd: packageRoot, env: { ...process.env, TRTN_ADDON_PATH: SIM_ADDON, TRTN_ALLOW_TRT_SIMULATOR: '1' }, encoding: 'utf8', timeout: 60_000,
      });
    } catch (err) {
      const e = err as { status: number | null; signal: string | null; stdout: string; stderr: string };
      status = e.status ?? -1;
      out = `${e.stdout}\n${e.stderr}\nsignal=${e.signal}`;
    }
    expect(out).toContain('exiting');
    expect(status, out).toBe(7);
  });
});
