import { TrtnError } from '../errors.js';
import type { BackendName, Logger, Precision, Progress } from './types.js';
import type { AccuracyBudget } from '../quantize/index.js';
import type { DataSource } from '../data/types.js';

export type CalibAlgorithm = 'entropy' | 'minmax' | 'percentile' | 'legacy-entropy';

export interface CalibOptions {
  /** Batches to calibrate on; not needed when `cache` already holds scales. */
  data?: DataSource;
  algorithm?: CalibAlgorithm;
  batchSize?: number;
  maxBatches?: number;
  /** Percentile for 'percentile' (default 99.99). */
  percentile?: number;
  /** Calibration cache: a file path (read if present, written after calibration) or cache bytes. */
  cache?: string | Uint8Array;
  /** Cross-layer equalization before calibration (default true; exact in FP32). */
  equalize?: boolean;
  /** SmoothQuant-style smoothing alpha for Gemm/MatMul inputs (default 0.5), or false. Needs data; off with a cache. */
  smooth?: number | false;
  /** Bias correction of quantized layers (default true; needs data; off with a cache, which must rebuild the same model). */
  biasCorrection?: boolean;
  /**
   * Keep float the fewest layers that hold top-1 on `data` (labelled, held out) within `maxDrop` (a fraction:
   * 0.005 = 0.5 points) of FP32, found by sensitivity ranking and bisection; `limit` images (default 2000). Or
   * `{ metric, maxDrop }`: the caller's async score of a candidate (higher is better) instead of top-1.
   */
  accuracyBudget?: AccuracyBudget;
}

export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

export interface BuildOptions {
  precision: Precision;
  backend?: 'auto' | BackendName;
  calib?: CalibOptions;
  /** Optimization profile per input; a dynamic batch dim defaults to 1 / maxBatch / maxBatch. */
  shapes?: Record<string, ShapeRange>;
  /** Largest batch a dynamic batch dimension must accept when `shapes` is not given (default 64). */
  maxBatch?: number;
  /**
   * TensorRT: one optimization profile per batch size (min = the previous size + 1, opt = max = the size), so each
   * size runs kernels chosen for it rather than for the largest; inference picks the tightest profile. Not with `shapes`.
   */
  profileBatchSizes?: number[];
  /** Builder workspace (memory pool) limit: bytes or a string such as '1GiB', '512MiB'. */
  workspace?: number | string;
  timingCache?: string;
  optimizationLevel?: number;
  device?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * ONNX Runtime session options (onnxruntime backend). `host`: where the session runs, 'thread' (a worker thread) or
   * 'process' (a child process); default 'thread' on the main thread and 'process' inside a worker thread, whose
   * termination would otherwise stop a session thread inside run() (onnxruntime-node then aborts the process).
   * `handoff` (thread host): while calls come back to back, the session thread polls up to `spinUs` (default 200) for
   * the next request and the caller polls its event loop up to `pollUs` (default 300) for a reply, instead of each
   * sleeping and paying a thread wake-up per call; 0 turns either off (less CPU, more latency).
   * `ortCall`: 'binding' (default) runs the model synchronously through the native binding under onnxruntime-node's
   * InferenceSession (the session thread has nothing else to do), 'public' through InferenceSession.run, which defers
   * every run to the next turn of that thread's event loop (6-21 us a run more at batch 1 and 8,
   * bench/engine-overhead.mjs). Where the installed onnxruntime-node's binding does not have the expected shape,
   * 'public' is used.
   */
  session?: {
    intraOpThreads?: number;
    interOpThreads?: number;
    graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
    host?: 'thread' | 'process';
    handoff?: { spinUs?: number; pollUs?: number };
    ortCall?: 'binding' | 'public';
  };
  /** Ops/node names kept in FP32 by FP16 conversion. */
  keepFp32?: string[];
  /**
   * int8 on the onnxruntime backend: where Q/DQ go (quantizeModel's `placement`). 'auto' (default): time float
   * prefixes (int8 starting at a later cut of the graph) and the rules' int8 model against FP32 on this machine and,
   * only when it is not at least 1.1x faster, time regions and keep float those faster in float (never slower than
   * FP32); 'measured': always time regions; 'rules': no timing, deterministic. The tensorrt backend places its own kernels and takes 'rules' only.
   */
  int8Placement?: 'rules' | 'measured' | 'auto';
}

export interface LoadOptions {
  backend?: 'auto' | BackendName;
  device?: number;
  logger?: Logger;
  session?: BuildOptions['session'];
}

// Small validators in the manner of sharp's is.* helpers: precise messages before anything crosses into C++.
export const is = {
  defined: (v: unknown): boolean => v !== undefined && v !== null,
  object: (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v),
  posInt: (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0,
  nonNegInt: (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0,
  inRange: (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && v >= lo && v <= hi,
  oneOf: <T extends string>(v: unknown, values: readonly T[]): v is T => typeof v === 'string' && (values as readonly string[]).includes(v),
  fn: (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function',
  string: (v: unknown): v is string => typeof v === 'string' && v.length > 0,
};

export function invalid(name: string, expected: string, actual: unknown): TrtnError {
  const shown = typeof actual === 'string' ? JSON.stringify(actual) : String(actual);
  return new TrtnError('ERR_INVALID_ARG', `Expected ${expected} for ${name} but received ${shown}`);
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** Parse '1GiB', '512 MiB', '2e9' or a number of bytes. */
export function parseBytes(value: number | string, name = 'workspace'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return Math.floor(value);
    throw invalid(name, 'a positive number of bytes', value);
  }
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalid(name, "a size such as 1073741824, '1GiB' or '512MiB'", value);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!(bytes > 0)) throw invalid(name, 'a positive size', value);
  return bytes;
}

export const PRECISIONS = ['fp32', 'fp16', 'int8', 'best'] as const;
export const BACKENDS = ['auto', 'tensorrt', 'onnxruntime', 'remote'] as const;
export const CALIB_ALGORITHMS = ['entropy', 'minmax', 'percentile', 'legacy-entropy'] as const;

/** Validate user build options; returns a normalised copy. Throws ERR_INVALID_ARG naming the option. */
export function validateBuildOptions(options: unknown): BuildOptions & { workspaceBytes?: number } {
  if (!is.object(options)) throw invalid('options', 'an object', options);
  const o = options as unknown as BuildOptions;
  if (!is.oneOf(o.precision, PRECISIONS)) throw invalid('precision', `one of ${PRECISIONS.join(', ')}`, o.precision);
  if (o.backend !== undefined && !is.oneOf(o.backend, BACKENDS)) throw invalid('backend', `one of ${BACKENDS.join(', ')}`, o.backend);
  if (o.calib !== undefined) {
    if (!is.object(o.calib)) throw invalid('calib', 'an object', o.calib);
    const c = o.calib;
    if (c.algorithm !== undefined && !is.oneOf(c.algorithm, CALIB_ALGORITHMS)) throw invalid('calib.algorithm', `one of ${CALIB_ALGORITHMS.join(', ')}`, c.algorithm);
    if (c.batchSize !== undefined && !is.posInt(c.batchSize)) throw invalid('calib.batchSize', 'a positive integer', c.batchSize);
    if (c.maxBatches !== undefined && !is.posInt(c.maxBatches)) throw invalid('calib.maxBatches', 'a positive integer', c.maxBatches);
    if (c.percentile !== undefined && !(is.inRange(c.percentile, 50, 100) && c.percentile > 50)) throw invalid('calib.percentile', 'a number in (50, 100]', c.percentile);
    if (c.cache !== undefined && !is.string(c.cache) && !(c.cache instanceof Uint8Array)) throw invalid('calib.cache', 'a file path or bytes', c.cache);
    if (c.data === undefined && c.cache === undefined) throw invalid('calib', 'data or a cache', 'neither');
    if (c.equalize !== undefined && typeof c.equalize !== 'boolean') throw invalid('calib.equalize', 'a boolean', c.equalize);
    if (c.biasCorrection !== undefined && typeof c.biasCorrection !== 'boolean') throw invalid('calib.biasCorrection', 'a boolean', c.biasCorrection);
    if (c.smooth !== undefined && c.smooth !== false && !(typeof c.smooth === 'number' && c.smooth > 0 && c.smooth < 1)) throw invalid('calib.smooth', 'a number in (0, 1) or false', c.smooth);
    if (c.accuracyBudget !== undefined) {
      const b = c.accuracyBudget;
      if (!is.object(b)) throw invalid('calib.accuracyBudget', '{ data, maxDrop } or { metric, maxDrop }', b);
      if ('metric' in b) {
        if (typeof b.metric !== 'function') throw invalid('calib.accuracyBudget.metric', 'an async function (candidate) => number, higher is better', b.metric);
        if (!(typeof b.maxDrop === 'number' && Number.isFinite(b.maxDrop) && b.maxDrop >= 0)) throw invalid('calib.accuracyBudget.maxDrop', 'a finite number >= 0 (in the metric\'s units)', b.maxDrop);
      } else {
        if (b.data === undefined || b.data === null) throw invalid('calib.accuracyBudget.data', 'a labelled Dataset or iterable of batches (or give metric instead)', b.data);
        if (!(typeof b.maxDrop === 'number' && b.maxDrop >= 0 && b.maxDrop < 1)) throw invalid('calib.accuracyBudget.maxDrop', 'a fraction in [0, 1) (0.005 = 0.5 points)', b.maxDrop);
        if (b.limit !== undefined && !is.posInt(b.limit)) throw invalid('calib.accuracyBudget.limit', 'a positive integer', b.limit);
      }
    }
  }
  // int8 without calib is checked by each backend where the model is known: a model that already carries Q/DQ needs none.

  if (o.shapes !== undefined) {
    if (!is.object(o.shapes)) throw invalid('shapes', 'an object keyed by input name', o.shapes);
    for (const [name, r] of Object.entries(o.shapes)) {
      if (!is.object(r)) throw invalid(`shapes.${name}`, '{ min, opt, max }', r);
      const { min, opt, max } = r as ShapeRange;
      for (const [k, v] of Object.entries({ min, opt, max })) {
        if (!Array.isArray(v) || !v.every(is.posInt)) throw invalid(`shapes.${name}.${k}`, 'an array of positive integers', v);
      }
      if (min.length !== opt.length || opt.length !== max.length) throw invalid(`shapes.${name}`, 'min/opt/max of equal rank', `${min.length}/${opt.length}/${max.length}`);
      for (let i = 0; i < min.length; i++) {
        if (!(min[i]! <= opt[i]! && opt[i]! <= max[i]!)) throw invalid(`shapes.${name}[${i}]`, 'min <= opt <= max', `${min[i]}/${opt[i]}/${max[i]}`);
      }
    }
  }
  if (o.maxBatch !== undefined && !is.posInt(o.maxBatch)) throw invalid('maxBatch', 'a positive integer', o.maxBatch);
  if (o.profileBatchSizes !== undefined) {
    if (!(Array.isArray(o.profileBatchSizes) && o.profileBatchSizes.length > 0 && o.profileBatchSizes.every(is.posInt))) {
      throw invalid('profileBatchSizes', 'a non-empty array of positive integers', o.profileBatchSizes);
    }
    if (o.shapes !== undefined) throw invalid('profileBatchSizes', 'absent when shapes is given (shapes sets the one profile)', o.profileBatchSizes);
  }
  const workspaceBytes = o.workspace === undefined ? undefined : parseBytes(o.workspace);
  if (o.optimizationLevel !== undefined && !(Number.isInteger(o.optimizationLevel) && is.inRange(o.optimizationLevel, 0, 5))) {
    throw invalid('optimizationLevel', 'an integer from 0 to 5', o.optimizationLevel);
  }
  if (o.device !== undefined && !is.nonNegInt(o.device)) throw invalid('device', 'a non-negative integer', o.device);
  if (o.timingCache !== undefined && !is.string(o.timingCache)) throw invalid('timingCache', 'a file path', o.timingCache);
  if (o.onProgress !== undefined && !is.fn(o.onProgress)) throw invalid('onProgress', 'a function', o.onProgress);
  if (o.logger !== undefined && !is.fn(o.logger)) throw invalid('logger', 'a function', o.logger);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('signal', 'an AbortSignal', o.signal);
  if (o.keepFp32 !== undefined && !(Array.isArray(o.keepFp32) && o.keepFp32.every(is.string))) throw invalid('keepFp32', 'an array of op types or node names', o.keepFp32);
  if (o.int8Placement !== undefined && !is.oneOf(o.int8Placement, ['rules', 'measured', 'auto'] as const)) throw invalid('int8Placement', "'rules', 'measured' or 'auto'", o.int8Placement);
  return { ...o, workspaceBytes };
}
