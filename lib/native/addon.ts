import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { TrtnError } from '../errors.js';

/** What every build of the addon exports; the CUDA and TensorRT parts are present only when compiled in. */
export interface NativeBuildInfo {
  napiVersion: number;
  /** CUDA toolkit version compiled against, or null. */
  cuda: string | null;
  /** TensorRT version compiled against (from NvInferVersion.h), or null. */
  tensorrt: string | null;
  /** libjpeg the JPEG decoder (imageFolder's fast path) was compiled against, e.g. 'libjpeg-turbo 2.1.5', or null. */
  jpeg: string | null;
  compiler: string;
}

// Members of each part are declared where that part is wrapped (lib/cuda, lib/backends/tensorrt, lib/native/bridge).
export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  setErrorClass(ctor: typeof TrtnError): void;
  [member: string]: unknown;
}

/** The one command that recompiles the addon in place, from a clone or inside node_modules (lib/cli/rebuild.ts). */
export const REBUILD_COMMAND = 'npx trt-node rebuild';
/** The same against a TensorRT install: every "rebuild with TensorRT" hint prints this. */
export const REBUILD_TENSORRT_COMMAND = `${REBUILD_COMMAND} --tensorrt /path/to/TensorRT`;

/** Root of the package: lib/native/ (sources under vitest) and dist/native/ (compiled) are both two levels down. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeAddon | undefined;
let cachedFile: string | undefined;
let loadError: TrtnError | undefined;

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  // TRTN_ADDON_PATH points at a specific .node file (the TensorRT compat check uses it); otherwise the local
  // build (build/Release) and then prebuilds/<platform>-<arch>, as node-gyp-build resolves them.
  const explicit = process.env.TRTN_ADDON_PATH;
  const file = explicit ? resolve(explicit) : (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot);
  const native = require(file) as NativeAddon;
  native.setErrorClass(TrtnError);
  cachedFile = file;
  return native;
}

/** The .node file nativeAddon() loaded, for a worker thread to load the same one; undefined when it cannot load. */
export function nativeAddonFile(): string | undefined {
  return tryNativeAddon().addon ? cachedFile : undefined;
}

/** The native addon, loaded once per JS environment (main thread or worker). */
export function nativeAddon(): NativeAddon {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    cached = load();
    return cached;
  } catch (err) {
    loadError = new TrtnError(
      'ERR_NATIVE_LOAD',
      `the native addon could not be loaded (${(err as Error).message}); run '${REBUILD_COMMAND}' in ${packageRoot} (needs cmake and a C++ compiler)` +
        (process.env.TRTN_ADDON_PATH ? ` or check TRTN_ADDON_PATH=${process.env.TRTN_ADDON_PATH}` : ''),
      { file: process.env.TRTN_ADDON_PATH },
      { cause: err },
    );
    throw loadError;
  }
}

/** Like nativeAddon() but returns undefined instead of throwing (for capability reports). */
export function tryNativeAddon(): { addon?: NativeAddon; error?: TrtnError } {
  try {
    return { addon: nativeAddon() };
  } catch (err) {
    return { error: err as TrtnError };
  }
}
