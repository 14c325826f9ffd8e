/**
 * sharp is an optional native dependency, loaded on first use: where it cannot load, the package still imports,
 * the ONNX Runtime backend works, doctor reports sharp on its own line, and only image decoding fails, with the fix.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { doctor, formatDoctorReport } from '../../lib/doctor/index.js';

describe('optional native dependencies', () => {
  it('sharp that cannot load breaks only image decoding (ERR_UNSUPPORTED), and doctor says so on its own line', () => {
    const script = fileURLToPath(new URL('./scripts/no-sharp.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { sharp: { loaded: boolean; error: string }; sharpLine: string; onnxruntime: boolean; decode: { code: string; message: string } };
    expect(out.onnxruntime).toBe(true);
    expect(out.sharp.loaded).toBe(false);
    expect(out.sharpLine).toMatch(/^\s+sharp\s+NOT loadable.*simulated.*fix: npm install sharp/);
    expect(out.decode).toMatchObject({ code: 'ERR_UNSUPPORTED' });
    expect(out.decode.message).toMatch(/sharp \(image decoding\) could not be loaded/);
  });

  it('where sharp loads, doctor prints its version and libvips', async () => {
    const report = await doctor();
    expect(report.sharp).toMatchObject({ loaded: true });
    expect(formatDoctorReport(report)).toMatch(/\n\s+sharp\s+\d+\.\d+\.\d+ \(libvips \d+\.\d+/);
  });
});
