/**
 * toBatches: the one entry point calibration, evaluation and benchmarks use. It accepts a Dataset or any
 * (async) iterable of Feeds or Batch objects and yields validated batches; a bad item or a throwing loader
 * becomes ERR_DATA naming the batch index (calibration re-wraps it as ERR_CALIB_DATA).
 */
import { TrtnError, asTrtnError } from '../errors.js';
import { invalid, is } from '../engine/options.js';
import { arrayClassName, DTYPES, type DType, type TensorData } from '../engine/types.js';
import { abortedError } from './dataset.js';
import type { Batch, DataSource, Dataset, Feeds } from './types.js';

export interface ToBatchesOptions {
  /** Feed key for Datasets and bare tensors; default 'input'. */
  inputName?: string;
  /** Batch size for Datasets; batches from an iterable pass through at the size they come in. */
  batchSize?: number;
  /** Stop after this many items (rows); a batch crossing the limit is cut. */
  limit?: number;
  /** Batches a Dataset prepares ahead (see BatchOptions.prefetch). */
  prefetch?: number;
  signal?: AbortSignal;
}


export function isDataset(value: unknown): value is Dataset {
  return is.object(value) && value.kind === 'dataset' && typeof value.batches === 'function';
}

/** Why `value` is not a TensorData, or null when it is one. */
function tensorProblem(value: unknown): string | null {
  if (!is.object(value)) return 'not an object';
  const { data, dims, dtype } = value as { data: unknown; dims: unknown; dtype: unknown };
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) return `dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`;
  if (!(Array.isArray(data) && dtype === 'string') && (!ArrayBuffer.isView(data) || data instanceof DataView)) return 'data is not a typed array';
  const arrayName = (data as object).constructor.name;
  if (arrayName !== arrayClassName(dtype as DType)) return `dtype ${dtype} needs a ${arrayClassName(dtype as DType)} but data is a ${arrayName}`;
  if (!Array.isArray(dims) || !dims.every(is.nonNegInt)) return 'dims is not an array of non-negative integers';
  const count = (dims as number[]).reduce((a, b) => a * b, 1);
  if ((data as unknown as { length: number }).length !== count) return `dims [${dims.join(', ')}] need ${count} values but data has ${(data as unknown as { length: number }).length}`;
  return null;
}

function isTensorLike(value: unknown): boolean {
  return is.object(value) && 'data' in value && 'dims' in value && 'dtype' in value;
}

/** Turn one item from a source into a Batch, or throw ERR_DATA naming the batch and what is wrong. */
export function normalizeBatch(item: unknown, index: number, inputName = 'input'): Batch {
  const fail = (why: string, details: Record<string, unknown> = {}) =>
    new TrtnError('ERR_DATA', `Data source batch ${index} is not usable: ${why}`, { batch: index, ...details });
  if (!is.object(item)) throw fail(`expected feeds ({ name: { data, dims, dtype } }) or a batch ({ feeds, labels? }), got ${item === null ? 'null' : typeof item}`);
  let feeds: Feeds;
  let labels: unknown;
  if (isTensorLike(item)) feeds = { [inputName]: item as unknown as TensorData };
  else if ('feeds' in item) {
    if (!is.object(item.feeds)) throw fail('its feeds is not an object of tensors');
    feeds = item.feeds as Feeds;
    labels = item.labels;
  } else feeds = item as Feeds;
  const names = Object.keys(feeds);
  if (names.length === 0) throw fail('it has no feeds');
  let rows: number | undefined;
  for (const name of names) {
    const problem = tensorProblem(feeds[name]);
    if (problem) throw fail(`feed '${name}': ${problem}`, { tensor: name });
    const first = feeds[name]!.dims[0] ?? 1;
    if (rows !== undefined && first !== rows) throw fail(`feed '${name}' has ${first} rows but another feed has ${rows}`, { tensor: name });
    rows = first;
  }
  const batch: Batch = { feeds };
  if (labels !== undefined) {
    if (!(labels instanceof Int32Array)) throw fail('labels must be an Int32Array');
    if (labels.length > rows!) throw fail(`${labels.length} labels for ${rows} rows`);
    batch.labels = labels;
  }
  return batch;
}

function rowsOf(batch: Batch): number {
  return Object.values(batch.feeds)[0]!.dims[0] ?? 1;
}

/** The first `rows` rows of a batch (used when a limit falls inside it). */
function headRows(batch: Batch, rows: number): Batch {
  const feeds: Feeds = {};
  for (const [name, t] of Object.entries(batch.feeds)) {
    const perRow = t.dims.slice(1).reduce((a, b) => a * b, 1);
    feeds[name] = { data: t.data.slice(0, rows * perRow), dims: [rows, ...t.dims.slice(1)], dtype: t.dtype };
  }
  return batch.labels ? { feeds, labels: batch.labels.slice(0, Math.min(rows, batch.labels.length)) } : { feeds };
}

export function toBatches(source: DataSource, options: ToBatchesOptions = {}): AsyncIterable<Batch> {
  const { inputName = 'input', batchSize, limit = Infinity, prefetch, signal } = options;
  if (!is.string(inputName)) throw invalid('inputName', 'a non-empty string', inputName);
  if (limit !== Infinity && !is.nonNegInt(limit)) throw invalid('limit', 'a non-negative integer', limit);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('signal', 'an AbortSignal', signal);
  let iterable: AsyncIterable<unknown> | Iterable<unknown>;
  let what: string;
  if (isDataset(source)) {
    iterable = source.batches({ batchSize, inputName, limit: limit === Infinity ? undefined : limit, prefetch, signal });
    what = source.name;
  } else if ((typeof source === 'object' && source !== null) || typeof source === 'function') {
    const s = source as unknown as Record<symbol, unknown>;
    if (typeof s[Symbol.asyncIterator] !== 'function' && typeof s[Symbol.iterator] !== 'function') {
      throw invalid('data source', 'a Dataset or an (async) iterable of feeds or batches', Object.prototype.toString.call(source));
    }
    iterable = source as AsyncIterable<unknown> | Iterable<unknown>;
    what = 'data source';
  } else {
    throw invalid('data source', 'a Dataset or an (async) iterable of feeds or batches', source);
  }
  return {
    async *[Symbol.asyncIterator]() {
      const it: AsyncIterator<unknown> | Iterator<unknown> =
        Symbol.asyncIterator in iterable ? (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (iterable as Iterable<unknown>)[Symbol.iterator]();
      let delivered = 0;
      let finished = false;
      try {
        for (let index = 0; delivered < limit; index++) {
          if (signal?.aborted) throw abortedError(what);
          let result: IteratorResult<unknown>;
          try {
            result = await it.next();
          } catch (err) {
            finished = true; // a throwing iterator is done; do not call return() on it
            throw asTrtnError(err, 'ERR_DATA', `${what} failed while producing batch ${index}`, { batch: index });
          }
          if (result.done) {
            finished = true;
            return;
          }
          let batch = normalizeBatch(result.value, index, inputName);
          const rows = rowsOf(batch);
          if (delivered + rows > limit) batch = headRows(batch, limit - delivered);
          delivered += rowsOf(batch);
          yield batch;
        }
      } finally {
        if (!finished) await it.return?.();
      }
    },
  };
}
