/** The TensorRT backend: availability, buildEngine (ONNX -> plan on a native thread) and loadEngine. */
import { readFile, writeFile, access } from 'node:fs/promises';
import { TrtnError, asTrtnError } from '../../errors.js';
import type { Availability, Backend, ModelSource } from '../../engine/backend.js';
import type { BuildOptions, LoadOptions } from '../../engine/options.js';
import type { Logger, Severity } from '../../engine/types.js';
import { REBUILD_COMMAND, REBUILD_TENSORRT_COMMAND, tryNativeAddon } from '../../native/addon.js';
import { awaitNativeJob, throwIfAborted, withLoaderCause, type BatchPuller } from '../../native/bridge.js';
import { calibrationFeed, calibrationInputs } from './calibration.js';
import { convertForExplicitPath } from './explicit.js';
import { TensorRtEngine, precisionFromLayerInfo } from './engine.js';
import { hasTensorRt, type NativeBuildOptions, type TrtAddon, type TrtProbe } from './native.js';
import { recognisesPlan } from './plan-format.js';
import { planPrecision, prequantizedPlan, type PrecisionPlan } from './precision.js';
import { hasQdq } from '../../quantize/index.js';
import { loadModel } from '../../onnx/io.js';

export const REBUILD_FIX = `install TensorRT 8.6, 10.x or 11.x and rebuild the addon: ${REBUILD_TENSORRT_COMMAND}`;
const SEVERITY_LEVEL: Record<Severity, number> = { error: 1, warning: 2, info: 3, verbose: 4 };
export const DEFAULT_MAX_BATCH = 64;

/** Default logger: TensorRT's warnings and errors on stderr. */
const defaultLogger: Logger = (severity, message) => {
  if (severity === 'error' || severity === 'warning') process.stderr.write(`[TensorRT ${severity}] ${message}\n`);
};

/** The addon's TensorRT part, or why it cannot be had (reason + fix). */
export function tensorRtAddon(): { addon?: TrtAddon; reason?: string; fix?: string } {
  const { addon, error } = tryNativeAddon();
  if (!addon) return { reason: error?.message ?? 'the native addon could not be loaded', fix: REBUILD_COMMAND };
  if (!addon.buildInfo().tensorrt || !hasTensorRt(addon)) {
    return { reason: 'the native addon was built without TensorRT', fix: REBUILD_FIX };
  }
  return { addon };
}

function requireAddon(): TrtAddon {
  const { addon, reason, fix } = tensorRtAddon();
  if (!addon) throw new TrtnError('ERR_NO_TENSORRT', `${reason} (fix: ${fix})`);
  return addon;
}

/** Whether an explicit 'tensorrt' request may use the test simulator (never 'auto', never doctor's TensorRT line). */
function simulatorAllowed(runtime: { simulator: boolean }): boolean {
  return !runtime.simulator || process.env.TRTN_ALLOW_TRT_SIMULATOR === '1';
}

// One probe per process and addon, off the JS thread (it creates a TensorRT runtime: seconds and GPU memory).
const probes = new WeakMap<TrtAddon, Promise<TrtProbe>>();
function probeOnce(addon: TrtAddon): Promise<TrtProbe> {
  let p = probes.get(addon);
  if (!p) {
    p = addon.trtProbe().promise;
    probes.set(addon, p);
  }
  return p;
}

// process.exit() while a job thread is inside libnvinfer would destroy the library's state under it: cancel and wait.
const exitHeld = new WeakSet<TrtAddon>();
function holdExitWhileBusy(addon: TrtAddon): void {
  if (exitHeld.has(addon)) return;
  exitHeld.add(addon);
  process.on('exit', () => addon.trtHoldExit(30_000));
}

export async function tensorRtAvailability(): Promise<Availability> {
  const { addon, reason, fix } = tensorRtAddon();
  if (!addon) return { available: false, reason, fix };
  let runtime;
  try {
    runtime = addon.trtRuntimeInfo();
  } catch (err) {
    return { available: false, reason: `TensorRT libraries failed: ${(err as Error).message}`, fix: REBUILD_FIX };
  }
  const info: Record<string, unknown> = { compiled: runtime.compiled, loaded: runtime.loaded, simulator: runtime.simulator };
  if (!simulatorAllowed(runtime)) {
    return { available: false, reason: 'the loaded addon is the test build with the TensorRT simulator, not TensorRT', fix: REBUILD_FIX, info };
  }
  if (runtime.loadedMajor !== runtime.compiledMajor) {
    return { available: false, reason: `the addon was compiled against TensorRT ${runtime.compiled} but libnvinfer ${runtime.loaded} is loaded`, fix: 'put the matching TensorRT libraries on LD_LIBRARY_PATH, or rebuild against the installed one', info };
  }
  const probe = await probeOnce(addon);
  info.cudaDevices = probe.cudaDevices;
  if (probe.cudaDevices === 0) {
    return { available: false, reason: `no CUDA device: ${probe.cudaError ?? 'cudaGetDeviceCount found none'}`, fix: 'run on a machine with an NVIDIA GPU and driver', info };
  }
  if (!probe.runtime) {
    return { available: false, reason: `TensorRT ${runtime.loaded} could not initialise (createInferRuntime returned null)${probe.messages ? `: ${probe.messages}` : ''}`, fix: REBUILD_FIX, info };
  }
  return { available: true, info };
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read '${path}': ${(err as Error).message}`, { file: path });
  }
}

/** getInferLibVersion's number for a version string: 8.6.1 -> 8601 (8.x), 10.16.0 -> 101600 (10.0 and later). */
export function cacheVersionNumber(version: string): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  return String(major >= 10 ? major * 10000 + minor * 100 + patch : major * 1000 + minor * 100 + patch);
}

/**
 * A calibration cache (written by this package, or by another TensorRT) under the running TensorRT's version: TensorRT
 * ignores a cache whose header names another version, and would then calibrate anew, or fail without data.
 */
export function retagCalibrationCache(cache: Uint8Array, version: string): Uint8Array {
  const text = Buffer.from(cache).toString('latin1');
  const retagged = text.replace(/^TRT-\d+-/, `TRT-${cacheVersionNumber(version)}-`);
  return retagged === text ? cache : Buffer.from(retagged, 'latin1');
}

/** The baton for trtBuild: plain data from validated options and the precision plan. */
export function nativeBuildOptions(model: ModelSource, options: BuildOptions & { workspaceBytes?: number }, plan: PrecisionPlan): NativeBuildOptions {
  const logger = options.logger ?? defaultLogger;
  return {
    ...(typeof model === 'string' ? { onnxPath: model } : { onnxBytes: model }),
    flags: plan.flags,
    stronglyTyped: plan.stronglyTyped,
    workspaceBytes: options.workspaceBytes,
    optimizationLevel: options.optimizationLevel,
    device: options.device ?? 0,
    maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
    shapes: options.shapes,
    profileBatchSizes: options.profileBatchSizes,
    timingCachePath: options.timingCache,
    logger: (severity, message) => logger(severity as Severity, message),
    logLevel: options.logger ? SEVERITY_LEVEL.info : SEVERITY_LEVEL.warning,
    onProgress: options.onProgress,
  };
}

export async function buildTensorRtEngine(model: ModelSource, options: BuildOptions & { workspaceBytes?: number }): Promise<TensorRtEngine> {
  const addon = requireAddon();
  const runtime = addon.trtRuntimeInfo();
  const logger = options.logger ?? defaultLogger;
  // A model that already carries Q/DQ (QAT export, another tool's PTQ) keeps its scales: TensorRT honours its Q/DQ
  // nodes (explicit quantization), so there is nothing to calibrate.
  const preQuantized = (options.precision === 'int8' || options.precision === 'best') && hasQdq(loadModel(model));
  if (preQuantized && options.calib) logger('warning', 'the model already carries Q/DQ: its own scales are used and calib is ignored');
  const calib = preQuantized ? undefined : options.calib;
  if (options.precision === 'int8' && !preQuantized && !calib) {
    throw new TrtnError('ERR_INVALID_ARG', "precision 'int8' needs calib: { data } (a Dataset or async iterable of feeds) or calib: { cache }, unless the model already carries Q/DQ");
  }
  // The compiled-in API decides what the native builder can do (availability checks that the loaded major matches).
  const plan = preQuantized
    ? prequantizedPlan(runtime.compiledMajor)
    : planPrecision(runtime.compiledMajor, options.precision, calib?.algorithm ?? 'entropy', calib !== undefined);
  let source = model;
  if (plan.convert) {
    source = await convertForExplicitPath(plan.convert, model, options, `precision '${options.precision}' on TensorRT ${runtime.loaded} (${plan.path})`);
  }
  const baton = nativeBuildOptions(source, options, plan);
  holdExitWhileBusy(addon);

  let puller: BatchPuller | undefined;
  if (plan.calibrator && calib) {
    const cache = typeof calib.cache === 'string' ? await readOptional(calib.cache) : calib.cache;
    if (!cache && !calib.data) {
      throw new TrtnError('ERR_CALIB_CACHE', `calibration cache '${String(calib.cache)}' does not exist and no calib.data was given`, { file: String(calib.cache) });
    }
    const batchSize = calib.batchSize ?? 32;
    // The network's own input names and the exact calibration shape; the loader is re-batched to it and its first
    // batch checked before the build starts.
    if (calib.data) puller = (await calibrationFeed({ ...calib, data: calib.data }, calibrationInputs(source, batchSize, options.shapes), logger)).puller;
    baton.calib = { algorithm: plan.calibrator, batchSize, cache: cache && retagCalibrationCache(cache, runtime.loaded), pull: puller?.pull };
  }

  let result;
  throwIfAborted(options.signal, 'engine build');
  try {
    result = await awaitNativeJob(addon.trtBuild(baton), options.signal, 'engine build');
  } catch (err) {
    throw puller ? withLoaderCause(err, puller) : err;
  }
  if (calib && typeof calib.cache === 'string' && result.calibrationCache) {
    await writeFile(calib.cache, result.calibrationCache).catch((err: Error) => {
      throw new TrtnError('ERR_CALIB_CACHE', `cannot write calibration cache '${calib.cache}': ${err.message}`, { file: String(calib.cache) });
    });
  }
  return loadPlan(addon, result.plan, { device: options.device, logger: options.logger }, options.precision, plan.description);
}

async function loadPlan(addon: TrtAddon, bytes: Uint8Array, options: LoadOptions, precision: BuildOptions['precision'] | undefined, path: string): Promise<TensorRtEngine> {
  const logger = options.logger ?? defaultLogger;
  const job = addon.trtLoadEngine(bytes, {
    device: options.device ?? 0,
    logger: (s, m) => logger(s as Severity, m),
    logLevel: options.logger ? SEVERITY_LEVEL.info : SEVERITY_LEVEL.warning,
  });
  const { handle, info } = await job.promise;
  const realised = precision ?? precisionFromLayerInfo(info.layerInfo) ?? 'fp32';
  return new TensorRtEngine(addon, handle, info, bytes, realised, path);
}

export async function loadTensorRtEngine(serialized: ModelSource, options: LoadOptions): Promise<TensorRtEngine> {
  const addon = requireAddon();
  holdExitWhileBusy(addon);
  let bytes: Uint8Array;
  try {
    bytes = typeof serialized === 'string' ? await readFile(serialized) : serialized;
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read engine file '${String(serialized)}': ${(err as Error).message}`, { file: String(serialized) });
  }
  try {
    return await loadPlan(addon, bytes, options, undefined, 'loaded plan (precision from its layer formats)');
  } catch (err) {
    const wrapped = asTrtnError(err, 'ERR_ENGINE_LOAD', 'loading the TensorRT plan failed');
    if (typeof serialized === 'string' && wrapped.code === 'ERR_ENGINE_LOAD') {
      throw new TrtnError('ERR_ENGINE_LOAD', `${wrapped.message} (file '${serialized}')`, { ...wrapped.details, file: serialized }, { cause: err });
    }
    throw wrapped;
  }
}

export const tensorrtBackend: Backend = {
  name: 'tensorrt',
  dtypes: ['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'], // no double, string or unsigned wider than 8 bits in TensorRT
  availability: tensorRtAvailability,
  buildEngine: buildTensorRtEngine,
  loadEngine: loadTensorRtEngine,
  recognises: recognisesPlan,
};
