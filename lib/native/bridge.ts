/**
 * The TypeScript half of native/bridge: native work on its own thread that settles a promise, cancellation by
 * AbortSignal, and turning any DataSource into the `pull()` function a native thread calls for the next batch.
 */
import { TrtnError, isTrtnError } from '../errors.js';
import type { DType, TypedArray } from '../engine/types.js';
import type { Batch, DataSource, Dataset } from '../data/types.js';
import { nativeAddon } from './addon.js';

/** What a native job returns: the promise of its result and a cancel switch. */
export interface NativeJob<T> {
  promise: Promise<T>;
  cancel(reason?: string): void;
}

/** ERR_ABORTED before any native work starts when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new TrtnError('ERR_ABORTED', `${what} aborted before it started${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}`);
  }
}

/** Await a native job, cancelling it when `signal` aborts (the job then rejects with ERR_ABORTED). */
export async function awaitNativeJob<T>(job: NativeJob<T>, signal?: AbortSignal, what = 'operation'): Promise<T> {
  if (!signal) return job.promise;
  const onAbort = () => job.cancel(`${what} aborted${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}`);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await job.promise;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** One batch as the native side takes it: input name -> raw typed array. */
export type NativeBatch = Record<string, TypedArray>;

export interface BatchPuller {
  /** Called by the native thread (through a thread-safe function) for each batch; null at the end. */
  pull: () => Promise<NativeBatch | null>;
  /** Batches handed out so far. */
  readonly pulled: number;
  /** The error the loader threw, kept so the native ERR_CALIB_DATA can carry it as `cause`. */
  readonly loaderError: unknown;
}

export interface BatchPullerOptions {
  /** Input names to take from each batch's feeds; default: every feed of the batch (the native side picks by name). */
  inputs?: readonly string[];
  /** Stop after this many batches. */
  maxBatches?: number;
  /** Batch size asked of a Dataset (ignored for plain iterables, whose batches are used as they come). */
  batchSize?: number;
}

function isDataset(source: DataSource): source is Dataset {
  return typeof source === 'object' && source !== null && (source as Dataset).kind === 'dataset' && typeof (source as Dataset).batches === 'function';
}

function iteratorOf(source: DataSource, options: BatchPullerOptions): AsyncIterator<unknown> | Iterator<unknown> {
  if (isDataset(source)) return source.batches({ batchSize: options.batchSize, ...(options.inputs?.[0] ? { inputName: options.inputs[0] } : {}) })[Symbol.asyncIterator]();
  const asyncIt = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
  if (typeof asyncIt === 'function') return asyncIt.call(source) as AsyncIterator<unknown>;
  const syncIt = (source as Iterable<unknown>)[Symbol.iterator];
  if (typeof syncIt === 'function') return syncIt.call(source) as Iterator<unknown>;
  throw new TrtnError('ERR_INVALID_ARG', 'calibration data must be a Dataset or an (async) iterable of feeds or batches');
}

/** The feeds of one item: a Batch's `feeds`, or the item itself when it is a Feeds record. */
function feedsOf(item: unknown): Record<string, unknown> {
  if (typeof item !== 'object' || item === null) return {};
  const batch = item as Batch;
  return (typeof batch.feeds === 'object' && batch.feeds !== null ? batch.feeds : item) as Record<string, unknown>;
}

/**
 * Turn a DataSource into the pull function of the native bridge. Each call takes the next item, and gives the
 * native side only typed arrays; validation of byte size and dtype is native, where the expected size is known.
 */
export function batchPuller(source: DataSource, options: BatchPullerOptions): BatchPuller {
  let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  let pulled = 0;
  let loaderError: unknown;
  let finished = false;
  const pull = async (): Promise<NativeBatch | null> => {
    if (finished || (options.maxBatches !== undefined && pulled >= options.maxBatches)) {
      finished = true;
      return null;
    }
    let result: IteratorResult<unknown>;
    try {
      iterator ??= iteratorOf(source, options);
      result = await iterator.next();
    } catch (err) {
      loaderError = err;
      throw err;
    }
    if (result.done) {
      finished = true;
      return null;
    }
    const feeds = feedsOf(result.value);
    const out: NativeBatch = {};
    for (const name of options.inputs ?? Object.keys(feeds)) {
      const tensor = feeds[name] as { data?: unknown } | undefined;
      // Pass what is there; the native side names the input and the expected typed array when it is wrong.
      out[name] = (tensor && typeof tensor === 'object' && 'data' in tensor ? tensor.data : tensor) as TypedArray;
    }
    pulled++;
    return out;
  };
  return {
    pull,
    get pulled() {
      return pulled;
    },
    get loaderError() {
      return loaderError;
    },
  };
}

/** Attach the loader's own error as `cause` to the native ERR_CALIB_DATA it caused. */
export function withLoaderCause(err: unknown, puller: BatchPuller): unknown {
  if (isTrtnError(err, 'ERR_CALIB_DATA') && puller.loaderError !== undefined && err.cause === undefined) {
    return new TrtnError('ERR_CALIB_DATA', err.message, err.details, { cause: puller.loaderError });
  }
  return err;
}

export interface PullTestInput {
  name: string;
  dtype: DType;
  bytes: number;
}

export interface PullTestResult {
  /** Batches the native thread received. */
  received: number;
  /** True when the loader ended before `batches` were pulled. */
  ended: boolean;
  /** FNV-1a 32 of each input's bytes as the native thread saw them, batch by batch. */
  checksums: number[];
}

interface BridgeAddon {
  bridgePullBatches(pull: () => unknown, options: { inputs: PullTestInput[]; batches: number; workMs?: number }): NativeJob<PullTestResult>;
}

/**
 * Pull up to `batches` batches on a native std::thread through the same code the INT8 calibrator uses
 * (test and diagnostic entry point of the bridge; needs no TensorRT).
 */
export async function pullBatchesNatively(
  source: DataSource,
  options: { inputs: PullTestInput[]; batches: number; workMs?: number; batchSize?: number; signal?: AbortSignal },
): Promise<PullTestResult> {
  throwIfAborted(options.signal, 'batch pull');
  const addon = nativeAddon() as unknown as BridgeAddon;
  const puller = batchPuller(source, { inputs: options.inputs.map((i) => i.name), batchSize: options.batchSize });
  const job = addon.bridgePullBatches(puller.pull, { inputs: options.inputs, batches: options.batches, workMs: options.workMs ?? 0 });
  try {
    return await awaitNativeJob(job, options.signal, 'batch pull');
  } catch (err) {
    throw withLoaderCause(err, puller);
  }
}

/** FNV-1a 32 of a typed array's bytes (the checksum the native bridge reports). */
export function fnv1a32(data: ArrayBufferView): number {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let hash = 2166136261;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash >>> 0;
}
