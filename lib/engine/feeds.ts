/**
 * Feeds as every backend handles them: validation against an engine's inputs (ERR_SHAPE / ERR_DTYPE naming the
 * tensor), rows sliced and joined (infer in chunks, the serving batcher), synthetic inputs for benchmarks, and the
 * benchmark options' defaults.
 */
import { TrtnError } from '../errors.js';
import type { BenchmarkOptions, Feeds, InferOptions, TensorData, TensorInfo } from './types.js';
import { ARRAY_CLASS_OF, arrayClassName } from './types.js';

/** ERR_SHAPE / ERR_DTYPE naming the tensor when `feeds` does not fit the model's inputs. */
export function validateFeeds(feeds: unknown, inputs: readonly TensorInfo[]): asserts feeds is Feeds {
  if (typeof feeds !== 'object' || feeds === null) throw new TrtnError('ERR_INVALID_ARG', `feeds must be an object keyed by input name (${inputs.map((i) => i.name).join(', ')})`);
  const f = feeds as Record<string, TensorData>;
  for (const input of inputs) {
    const t = f[input.name];
    if (t === undefined) throw new TrtnError('ERR_SHAPE', `no feed for input '${input.name}' (feeds given: ${Object.keys(f).join(', ') || 'none'})`, { tensor: input.name });
    if (typeof t !== 'object' || t === null || !(ArrayBuffer.isView(t.data) || Array.isArray(t.data)) || !Array.isArray(t.dims))
      throw new TrtnError('ERR_INVALID_ARG', `feed '${input.name}' must be { data: TypedArray (string[] for strings), dims: number[], dtype }`, { tensor: input.name });
    if (t.dtype !== input.dtype) throw new TrtnError('ERR_DTYPE', `feed '${input.name}' is ${String(t.dtype)}; the model takes ${input.dtype}`, { tensor: input.name });
    const arrayName = arrayClassName(input.dtype);
    if (t.data.constructor.name !== arrayName || (input.dtype === 'string' && !(t.data as unknown[]).every((v) => typeof v === 'string')))
      throw new TrtnError('ERR_DTYPE', `feed '${input.name}' (${input.dtype}) needs a ${input.dtype === 'string' ? 'string[]' : arrayName}, got a ${t.data.constructor.name}`, { tensor: input.name });
    const shape = input.shape;
    // A dim may be 0 (an empty tensor is a valid feed, e.g. empty 'axes').
    const dimsOk = t.dims.length === shape.length && t.dims.every((d, i) => Number.isInteger(d) && d >= 0 && (typeof shape[i] !== 'number' || shape[i] === -1 || shape[i] === d));
    if (!dimsOk) throw new TrtnError('ERR_SHAPE', `feed '${input.name}' has dims [${t.dims.join(', ')}]; the model takes [${shape.join(', ')}]`, { tensor: input.name });
    const count = t.dims.reduce((a, b) => a * b, 1);
    if ((t.data as { length: number }).length !== count)
      throw new TrtnError('ERR_SHAPE', `feed '${input.name}' has ${(t.data as { length: number }).length} values; dims [${t.dims.join(', ')}] need ${count}`, { tensor: input.name });
  }
  for (const name of Object.keys(f)) {
    if (!inputs.some((i) => i.name === name)) throw new TrtnError('ERR_SHAPE', `feed '${name}' is not an input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`, { tensor: name });
  }
}

export function sliceRows(t: TensorData, start: number, end: number): TensorData {
  const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = Array.isArray(t.data) ? t.data.slice(start * per, end * per) : t.data.subarray(start * per, end * per);
  return { data: data as TensorData['data'], dims: [end - start, ...t.dims.slice(1)], dtype: t.dtype };
}

export function concatRows(parts: TensorData[]): TensorData {
  if (parts.length === 1) return parts[0]!;
  if (Array.isArray(parts[0]!.data)) return { data: parts.flatMap((p) => p.data as string[]), dims: [parts.reduce((a, p) => a + (p.dims[0] ?? 0), 0), ...parts[0]!.dims.slice(1)], dtype: parts[0]!.dtype };
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const Ctor = parts[0]!.data.constructor as new (n: number) => TensorData['data'];
  const data = new Ctor(total);
  let offset = 0;
  for (const p of parts) {
    (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p.data as ArrayLike<unknown>, offset);
    offset += p.data.length;
  }
  return { data, dims: [parts.reduce((a, p) => a + (p.dims[0] ?? 0), 0), ...parts[0]!.dims.slice(1)], dtype: parts[0]!.dtype };
}

export function syntheticFeed(info: TensorInfo, batch: number): TensorData {
  const dims = info.shape.map((d, i) => (i === 0 && (typeof d !== 'number' || d < 0) ? batch : typeof d === 'number' && d > 0 ? d : 1));
  const count = dims.reduce((a, b) => a * b, 1);
  if (info.dtype === 'string') return { data: new Array<string>(count).fill(''), dims, dtype: info.dtype };
  const data = new ARRAY_CLASS_OF[info.dtype](count);
  if (data instanceof Float32Array) for (let i = 0; i < count; i++) data[i] = Math.sin(i * 12.9898) * 1.5;
  return { data, dims, dtype: info.dtype };
}

/** Benchmark options validated, with their defaults (10 warm-up and 50 timed runs per batch size). */
export function benchmarkSettings(options: BenchmarkOptions): Required<Pick<BenchmarkOptions, 'batchSizes' | 'warmup' | 'iterations'>> & BenchmarkOptions {
  const { batchSizes, warmup = 10, iterations = 50 } = options ?? ({} as BenchmarkOptions);
  if (!Array.isArray(batchSizes) || batchSizes.length === 0 || !batchSizes.every((b) => Number.isInteger(b) && b > 0))
    throw new TrtnError('ERR_INVALID_ARG', `benchmark batchSizes must be a non-empty array of positive integers, got ${JSON.stringify(batchSizes)}`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new TrtnError('ERR_INVALID_ARG', `benchmark warmup must be a non-negative integer, got ${warmup}`);
  if (!(Number.isInteger(iterations) && iterations > 0)) throw new TrtnError('ERR_INVALID_ARG', `benchmark iterations must be a positive integer, got ${iterations}`);
  return { ...options, batchSizes, warmup, iterations };
}

/** Run validated feeds in chunks of options.batch rows (default: all at once) and join the outputs' rows. */
export async function inferInChunks(
  feeds: Feeds, options: InferOptions, outputs: readonly TensorInfo[],
  run: (chunk: Feeds, start: number, end: number) => Promise<Record<string, TensorData>>,
): Promise<Record<string, TensorData>> {
  if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'infer aborted before it started');
  const rows = Object.values(feeds)[0]?.dims[0] ?? 1;
  const batch = options.batch ?? Math.max(rows, 1);
  if (!Number.isInteger(batch) || batch <= 0) throw new TrtnError('ERR_INVALID_ARG', `infer batch must be a positive integer, got ${String(options.batch)}`);
  const parts: Record<string, TensorData>[] = [];
  // At least one run: a feed with 0 rows is a valid (empty) batch.
  for (let start = 0; start < rows || (start === 0 && rows === 0); start += batch) {
    if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', `infer aborted after ${start} of ${rows} rows`);
    const end = Math.min(rows, start + batch);
    const chunk: Feeds = {};
    for (const [name, t] of Object.entries(feeds)) chunk[name] = start === 0 && end === rows ? t : sliceRows(t, start, end);
    parts.push(await run(chunk, start, end));
  }
  const out: Record<string, TensorData> = {};
  for (const o of outputs) out[o.name] = concatRows(parts.map((p) => p[o.name]!));
  return out;
}
