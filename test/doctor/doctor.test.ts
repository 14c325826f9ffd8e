// `trt-node doctor` must tell the truth about the machine it runs on. Facts are checked against independent
// sources (process, package.json files, /dev/nvidia*), not against the functions doctor itself calls.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerDoctor } from '../../lib/cli/doctor.js';
import type { DoctorReport } from '../../lib/doctor/index.js';
import { packageRoot } from '../../lib/native/addon.js';

async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    const program = new Command().name('trt-node').exitOverride();
    registerDoctor(program);
    await program.parseAsync(['doctor', ...args], { from: 'user' });
  } finally {
    write.mockRestore();
  }
  return chunks.join('');
}

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
const ortPkg = JSON.parse(readFileSync(join(packageRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string };
// No NVIDIA device node means no GPU the driver could expose (true on this CI machine).
const machineHasGpuNode = existsSync('/dev/nvidia0');

describe('trt-node doctor --json', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints one JSON object describing this machine truthfully', async () => {
    const out = await runCli(['--json']);
    const report = JSON.parse(out) as DoctorReport;

    expect(report.node.version).toBe(process.version);
    expect(report.node.platform).toBe(process.platform);
    expect(report.package).toEqual({ name: pkg.name, version: pkg.version });

    expect(report.addon.loaded).toBe(true);
    expect(report.addon.path).toMatch(/\.node$/);
    expect(existsSync(report.addon.path!)).toBe(true);
    expect(['build/Release', 'build/Debug', 'prebuilds', 'TRTN_ADDON_PATH']).toContain(report.addon.from);
    expect(report.addon.build?.cuda).toMatch(/^13\.\d+$/);

    expect(report.cuda.compiled).toBe(true);
    expect(report.cuda.runtimeVersion).toMatch(/^13\.\d+$/);
    if (!machineHasGpuNode) {
      expect(report.cuda.deviceCount).toBe(0);
      expect(report.cuda.devices).toEqual([]);
      expect(report.cuda.reason).toMatch(/cudaError\w+/);
      expect(report.cuda.fix).toBeTruthy();
      expect(report.cuda.errorCode).toBe('ERR_NO_CUDA_DEVICE');
    }

    if (report.addon.build?.tensorrt === null) {
      expect(report.tensorrt.compiled).toBeNull();
      expect(report.tensorrt.summary).toMatch(/^not compiled in/);
    }
    expect(report.onnxruntime).toMatchObject({ installed: true, version: ortPkg.version });
    // The CUDA provider files onnxruntime-node's postinstall would fetch, read off the disk independently.
    const ortBin = join(packageRoot, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', `${process.platform}/${process.arch}`);
    const cudaSo = join(ortBin, 'libonnxruntime_providers_cuda.so');
    if (`${process.platform}/${process.arch}` !== 'linux/x64') expect(report.onnxruntime.cudaProvider).toBe('not used on this platform');
    else if (!existsSync(cudaSo)) expect(report.onnxruntime.cudaProvider).toBe('missing');
    else expect(report.onnxruntime.cudaProvider).toBe(statSync(cudaSo).size < 4096 && readFileSync(cudaSo, 'utf8').startsWith('tensorrt-node placeholder') ? 'placeholder' : 'installed');

    expect(Array.isArray(report.backends)).toBe(true);
    for (const b of report.backends) {
      expect(typeof b.name).toBe('string');
      expect(typeof b.available).toBe('boolean');
      if (!b.available) expect(b.reason).toBeTruthy();
      // No GPU and no TensorRT here: a registered TensorRT backend must say it cannot run.
      if (b.name === 'tensorrt' && !machineHasGpuNode) expect(b.available).toBe(false);
    }
    if (report.backends.length === 0) expect(report.notes.join(' ')).toMatch(/no backend is registered/);
  });

  it('prints a readable text report without --json', async () => {
    const out = await runCli([]);
    expect(out.split('\n')[0]).toBe(`${pkg.name} ${pkg.version}`);
    expect(out).toContain(process.version);
    expect(out).toMatch(/compiled with\s+CUDA 13\.\d+/);
    expect(out).toContain(`onnxruntime-node  ${ortPkg.version}`);
    if (!machineHasGpuNode) expect(out).toMatch(/GPUs\s+none: .*cudaError\w+/);
    expect(out).toMatch(/^backends$/m);
  });
});
