/** Where a study ran: machine, OS, runtime, library versions and what each backend said about itself. */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, platform, release, arch, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBackends } from '../engine/backend.js';
import type { BackendAvailability, StudyEnvironment } from './results.js';

function packageVersion(startDir: string, name: string): string | undefined {
  let dir = startDir;
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version;
      } catch {
        // an unreadable package.json on the way up is not this package's
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function dependencyVersion(name: string): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve(name);
    return packageVersion(dirname(entry), name);
  } catch {
    return undefined;
  }
}

function pickString(info: Record<string, unknown> | undefined, keys: string[]): string | undefined {
  if (!info) return undefined;
  for (const key of keys) {
    const path = key.split('.');
    let v: unknown = info;
    for (const p of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return undefined;
}

export async function collectEnvironment(): Promise<StudyEnvironment> {
  const cpuList = cpus();
  const backends: Record<string, BackendAvailability> = {};
  for (const backend of listBackends()) {
    try {
      const a = await backend.availability();
      backends[backend.name] = { available: a.available, ...(a.reason ? { reason: a.reason } : {}), ...(a.info ? { info: a.info } : {}) };
    } catch (err) {
      backends[backend.name] = { available: false, reason: (err as Error).message };
    }
  }
  const trtInfo = backends.tensorrt?.info;
  const gpuModel = pickString(trtInfo, ['gpu', 'device.name', 'devices.0.name', 'gpuName']);
  const driver = pickString(trtInfo, ['driver', 'driverVersion', 'cudaDriverVersion']);
  const env: StudyEnvironment = {
    cpu: { model: cpuList[0]?.model.trim() ?? 'unknown', cores: cpuList.length },
    memoryBytes: totalmem(),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    versions: {
      'tensorrt-node': packageVersion(dirname(fileURLToPath(import.meta.url)), 'tensorrt-node'),
      'onnxruntime-node': dependencyVersion('onnxruntime-node'),
      tensorrt: pickString(trtInfo, ['tensorrtVersion', 'tensorrt', 'version']),
    },
    backends,
  };
  if (gpuModel || driver) env.gpu = { ...(gpuModel ? { model: gpuModel } : {}), ...(driver ? { driver } : {}) };
  return env;
}
