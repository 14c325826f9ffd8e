import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { listBackends } from '../engine/backend.js';
import { packageRoot, REBUILD_TENSORRT_COMMAND, tryNativeAddon, type NativeAddon, type NativeBuildInfo } from '../native/addon.js';
import { cudaInfo, type CudaInfo } from '../cuda/device.js';
import { sharpStatus } from '../data/sharp.js';

/** Everything a user needs to know before filing a bug; `trt-node doctor --json` prints this object. */
export interface DoctorReport {
  node: { version: string; platform: string; arch: string; napi: string | null; modules: string };
  package: { name: string; version: string };
  addon: {
    loaded: boolean;
    /** The .node file loaded (or that would be), when it can be located. */
    path: string | null;
    /** 'build/Release' (a local build), 'prebuilds' (shipped binary), 'TRTN_ADDON_PATH' or 'other'. */
    from: string | null;
    /** What it was compiled with (buildInfo()). */
    build: NativeBuildInfo | null;
    error?: string;
  };
  cuda: CudaInfo;
  tensorrt: {
    /** TensorRT version the addon was compiled against, or null. */
    compiled: string | null;
    /** What the addon reports about the TensorRT library loaded at run time, or null. */
    runtime: Record<string, unknown> | null;
    /** One line for humans: the loaded version, 'not compiled in', or why it is unknown. */
    summary: string;
  };
  onnxruntime: {
    installed: boolean;
    version: string | null;
    path: string | null;
    /**
     * ONNX Runtime's CUDA provider files, which onnxruntime-node's postinstall downloads from NuGet (this package
     * uses only the CPU provider): 'installed', 'placeholder' (NuGet was unreachable at install, see
     * scripts/onnxruntime-offline.cjs), 'missing', or 'not used on this platform'.
     */
    cudaProvider?: 'installed' | 'placeholder' | 'missing' | 'not used on this platform';
    error?: string;
  };
  /** Optional native dependencies, loaded on first use: sharp (imageFolder's decoder for PNG/WebP and the JPEG fallback). */
  sharp: { loaded: boolean; version: string | null; error?: string };
  backends: Array<{ name: string; available: boolean; reason?: string; fix?: string; info?: Record<string, unknown> }>;
  /** Facts that do not fit above (e.g. no backend registered). */
  notes: string[];
}

// native/trt exports trtRuntimeInfo() -> { compiled, loaded, ... } when TensorRT is compiled in (feature-detected).
const TRT_RUNTIME_INFO_EXPORTS = ['trtRuntimeInfo'] as const;

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function addonLocation(): { path: string | null; from: string | null } {
  const explicit = process.env.TRTN_ADDON_PATH;
  if (explicit) return { path: resolve(explicit), from: 'TRTN_ADDON_PATH' };
  try {
    const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string };
    const path = nodeGypBuild.path(packageRoot);
    const rel = relative(packageRoot, path).split(sep);
    const from = rel[0] === 'build' ? `build/${rel[1]}` : rel[0] === 'prebuilds' ? 'prebuilds' : 'other';
    return { path, from };
  } catch {
    return { path: null, from: null };
  }
}

function tensorrtReport(addon: NativeAddon | undefined): DoctorReport['tensorrt'] {
  const compiled = addon?.buildInfo().tensorrt ?? null;
  if (!addon) return { compiled, runtime: null, summary: 'unknown (the addon did not load)' };
  if (!compiled) {
    return { compiled, runtime: null, summary: `not compiled in (install TensorRT and rebuild: ${REBUILD_TENSORRT_COMMAND})` };
  }
  const name = TRT_RUNTIME_INFO_EXPORTS.find((n) => typeof addon[n] === 'function');
  if (!name) return { compiled, runtime: null, summary: `compiled against ${compiled}; this addon does not report the loaded library` };
  try {
    const raw = (addon[name] as () => unknown)();
    const runtime = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : { version: raw };
    const version = runtime.version ?? runtime.libraryVersion ?? runtime.loaded;
    if (runtime.simulator === true) {
      return { compiled: null, runtime, summary: `NOT TensorRT: the test-only build with the TensorRT simulator (personality ${String(version)}) is loaded, e.g. through TRTN_ADDON_PATH` };
    }
    return { compiled, runtime, summary: version !== undefined ? `loaded ${String(version)} (compiled against ${compiled})` : `compiled against ${compiled}` };
  } catch (err) {
    return { compiled, runtime: null, summary: `compiled against ${compiled}; the library failed to load: ${(err as Error).message}` };
  }
}

interface OfflineScript {
  MARKER: string;
  plannedDownload(ortDir: string, platform: string): { files: string[] } | null;
}

function ortCudaProvider(ortDir: string): DoctorReport['onnxruntime']['cudaProvider'] {
  try {
    return readOrtCudaProvider(ortDir);
  } catch {
    return undefined; // an onnxruntime-node laid out otherwise: nothing to say about its provider files
  }
}

function readOrtCudaProvider(ortDir: string): NonNullable<DoctorReport['onnxruntime']['cudaProvider']> {
  // The preinstall's own reading of onnxruntime-node's install metadata, so doctor and the script cannot disagree.
  const script = createRequire(import.meta.url)(join(packageRoot, 'scripts', 'onnxruntime-offline.cjs')) as OfflineScript;
  const plan = script.plannedDownload(ortDir, `${process.platform}/${process.arch}`);
  if (!plan || plan.files.length === 0) return 'not used on this platform';
  if (plan.files.some((f) => !existsSync(f))) return 'missing';
  const placeholder = plan.files.some((f) => statSync(f).size < 4096 && readFileSync(f, 'utf8').startsWith(script.MARKER));
  return placeholder ? 'placeholder' : 'installed';
}

function onnxruntimeReport(): DoctorReport['onnxruntime'] {
  const require = createRequire(join(packageRoot, 'package.json'));
  try {
    const path = require.resolve('onnxruntime-node/package.json');
    const pkg = readJson(path);
    return { installed: true, version: String(pkg.version), path: dirname(path), cudaProvider: ortCudaProvider(dirname(path)) };
  } catch (err) {
    return { installed: false, version: null, path: null, error: (err as Error).message.split('\n')[0] };
  }
}

async function backendsReport(notes: string[]): Promise<DoctorReport['backends']> {
  try {
    // Backends register themselves when the library's entry point loads them.
    await import('../index.js');
  } catch (err) {
    notes.push(`loading the library entry point failed, so some backends may be missing: ${(err as Error).message}`);
  }
  const backends = listBackends();
  if (backends.length === 0) notes.push('no backend is registered in this build of the library');
  const out: DoctorReport['backends'] = [];
  for (const backend of backends) {
    try {
      const a = await backend.availability();
      out.push({ name: backend.name, available: a.available, ...(a.reason ? { reason: a.reason } : {}), ...(a.fix ? { fix: a.fix } : {}), ...(a.info ? { info: a.info } : {}) });
    } catch (err) {
      out.push({ name: backend.name, available: false, reason: `availability check failed: ${(err as Error).message}` });
    }
  }
  return out;
}

/** Gather the report. Never throws for a missing GPU, driver, TensorRT or addon: that is what it reports. */
export async function doctor(): Promise<DoctorReport> {
  const notes: string[] = [];
  const pkg = readJson(join(packageRoot, 'package.json'));
  const { addon, error } = tryNativeAddon();
  const location = addonLocation();
  return {
    node: { version: process.version, platform: process.platform, arch: process.arch, napi: process.versions.napi ?? null, modules: process.versions.modules },
    package: { name: String(pkg.name), version: String(pkg.version) },
    addon: { loaded: addon !== undefined, ...location, build: addon ? addon.buildInfo() : null, ...(error ? { error: error.message } : {}) },
    cuda: cudaInfo({ freeMemory: true }),
    tensorrt: tensorrtReport(addon),
    onnxruntime: onnxruntimeReport(),
    sharp: await sharpStatus(),
    backends: await backendsReport(notes),
    notes,
  };
}

const GiB = 1024 ** 3;

/** The report as the text `trt-node doctor` prints. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(18)}${value}`);
  lines.push(`${r.package.name} ${r.package.version}`);
  row('node', `${r.node.version} (${r.node.platform}-${r.node.arch}, N-API ${r.node.napi ?? '?'}, ABI ${r.node.modules})`);
  if (r.addon.loaded && r.addon.build) {
    const b = r.addon.build;
    row('addon', `loaded from ${r.addon.from} (${r.addon.path})`);
    row('compiled with', `CUDA ${b.cuda ?? 'none'}, TensorRT ${b.tensorrt ?? 'none'}, ${b.jpeg ?? 'no libjpeg (imageFolder decodes JPEGs with sharp)'}, N-API ${b.napiVersion}, compiler ${b.compiler}`);
  } else {
    row('addon', `NOT LOADED: ${r.addon.error ?? 'unknown error'}`);
  }
  const c = r.cuda;
  row('CUDA runtime', c.compiled ? `${c.runtimeVersion}` : 'not compiled in');
  row('NVIDIA driver', c.driverVersion ? `supports CUDA ${c.driverVersion}` : 'none found');
  if (c.deviceCount > 0) {
    for (const d of c.devices) {
      const memory = `${(d.totalMemory / GiB).toFixed(1)} GiB${d.freeMemory !== undefined ? `, ${(d.freeMemory / GiB).toFixed(1)} GiB free` : ''}`;
      row(`GPU ${d.index}`, d.error ? `error: ${d.error.message}` : `${d.name}, compute capability ${d.computeCapability}, ${memory}`);
    }
  } else {
    row('GPUs', `none: ${c.reason ?? 'unknown reason'}`);
    if (c.fix) row('', `fix: ${c.fix}`);
  }
  row('TensorRT', r.tensorrt.summary);
  row('onnxruntime-node', r.onnxruntime.installed ? `${r.onnxruntime.version}` : `not installed (${r.onnxruntime.error ?? ''})`);
  if (r.onnxruntime.cudaProvider === 'placeholder') {
    row('', 'its CUDA provider: not downloaded (NuGet unreachable at install; unused here). To add it: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node');
  } else if (r.onnxruntime.cudaProvider && r.onnxruntime.cudaProvider !== 'not used on this platform') {
    row('', `its CUDA provider: ${r.onnxruntime.cudaProvider} (unused by tensorrt-node)`);
  }
  row('sharp', r.sharp.loaded ? `${r.sharp.version}` : `NOT loadable (only imageFolder needs it): ${r.sharp.error ?? 'unknown error'}`);
  lines.push('backends');
  if (r.backends.length === 0) lines.push('  (none registered)');
  for (const b of r.backends) {
    lines.push(`  ${b.name.padEnd(18)}${b.available ? 'usable' : `NOT usable: ${b.reason ?? 'unknown reason'}`}`);
    if (!b.available && b.fix) lines.push(`  ${''.padEnd(18)}fix: ${b.fix}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
