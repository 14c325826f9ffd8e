/** An Engine over a deserialized TensorRT plan: infer, benchmark, serialize, dispose. */
import { writeFile } from 'node:fs/promises';
import { TrtnError } from '../../errors.js';
import type {
  BenchmarkOptions, BenchmarkResult, BenchmarkRow, DType, Engine, Feeds, InferOptions, Precision, TensorData, TensorInfo, TypedArray,
} from '../../engine/types.js';
import { awaitNativeJob } from '../../native/bridge.js';
import { latencyStats } from '../../engine/stats.js';
import { validateFeeds } from '../../engine/feeds.js';
import type { EngineHandle, NativeEngineInfo, NativeTensorInfo, NativeTensorOut, TrtAddon } from './native.js';

// Only the dtypes TensorRT carries (backend.ts declares them; buildEngine refuses the others before any work).
const ARRAY_OF: Partial<Record<DType, { new (buffer: ArrayBuffer): TypedArray; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

/** The input's range over all profiles (they are contiguous in the batch), and every profile. */
function toTensorInfo(t: NativeTensorInfo): TensorInfo {
  const p = t.profiles;
  if (!p || p.length === 0) return { name: t.name, dtype: t.dtype, shape: t.shape };
  const range = { min: p[0]!.min, opt: p[p.length - 1]!.opt, max: p.reduce((m, q) => (q.max[0]! > m[0]! ? q.max : m), p[0]!.max) };
  return { name: t.name, dtype: t.dtype, shape: t.shape, profile: range, ...(p.length > 1 ? { profiles: p } : {}) };
}

/** A typed array of the tensor's dtype over the native output's own buffer: the native side filled it, nothing is copied. */
function toTensor(out: NativeTensorOut): TensorData {
  const Ctor = ARRAY_OF[out.dtype] as unknown as { new (buffer: ArrayBufferLike, offset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number } | undefined;
  if (!Ctor) throw new TrtnError('ERR_UNSUPPORTED', `output '${out.name}' has dtype ${out.dtype}, which has no typed array here`, { tensor: out.name });
  const aligned = out.data.byteOffset % Ctor.BYTES_PER_ELEMENT === 0;
  const bytes = aligned ? out.data : out.data.slice();
  return { data: new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / Ctor.BYTES_PER_ELEMENT), dims: out.dims, dtype: out.dtype };
}

const volume = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The precision a loaded plan runs at, from the layer formats TensorRT's inspector reports. */
export function precisionFromLayerInfo(layerInfo: string): Precision | undefined {
  if (!layerInfo) return undefined;
  if (/Int8/i.test(layerInfo)) return 'int8';
  if (/Half|FP16/i.test(layerInfo)) return 'fp16';
  return 'fp32';
}

export class TensorRtEngine implements Engine {
  readonly backend = 'tensorrt' as const;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Device memory one execution context's activations need (bytes). */
  readonly contextMemoryBytes: number;
  /** Per-layer information from IEngineInspector (parsed JSON), when the plan carries it. */
  readonly layers: unknown;
  private readonly inFlight = new Set<Promise<unknown>>();
  private isDisposed = false;

  constructor(
    private readonly addon: TrtAddon,
    private readonly handle: EngineHandle,
    info: NativeEngineInfo,
    private readonly plan: Uint8Array,
    readonly precision: Precision,
    readonly path: string,
  ) {
    this.inputs = info.inputs.map(toTensorInfo);
    this.outputs = info.outputs.map(toTensorInfo);
    this.contextMemoryBytes = info.contextMemoryBytes;
    let layers: unknown = undefined;
    try {
      layers = info.layerInfo ? JSON.parse(info.layerInfo) : undefined;
    } catch {
      layers = info.layerInfo;
    }
    this.layers = layers;
  }

  /** Device memory all execution contexts in the pool hold now (each context has its own activations). */
  get deviceMemoryBytes(): number {
    this.check();
    return this.addon.trtEngineStats(this.handle).deviceMemoryBytes;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  private check(): void {
    if (this.isDisposed) throw new TrtnError('ERR_DISPOSED', 'this TensorRT engine was disposed');
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Feeds checked as every backend checks them (engine/feeds.ts); returns the rows (first dim) they share. */
  private validateFeeds(feeds: Feeds): number {
    validateFeeds(feeds, this.inputs);
    let rows: number | undefined;
    for (const input of this.inputs) {
      const t = feeds[input.name]!;
      // One optimization profile binds every input's batch dimension together.
      if (rows !== undefined && t.dims[0] !== rows) throw new TrtnError('ERR_SHAPE', `inputs disagree on the batch dimension (${rows} vs ${t.dims[0]} for '${input.name}')`, { tensor: input.name });
      rows = t.dims[0];
    }
    return rows ?? 1;
  }

  async infer(feeds: Feeds, options: InferOptions = {}): Promise<Record<string, TensorData>> {
    this.check();
    const rows = this.validateFeeds(feeds);
    const dynamicBatch = this.inputs.every((i) => i.shape[0] === -1);
    const maxRows = dynamicBatch ? Math.min(...this.inputs.map((i) => i.profile?.max[0] ?? rows)) : rows;
    const chunk = Math.min(options.batch ?? rows, maxRows);
    if (!(Number.isInteger(chunk) && chunk > 0)) throw new TrtnError('ERR_INVALID_ARG', `batch must be a positive integer, got ${options.batch}`);
    if (chunk === rows) return this.track(this.runChunk(feeds, 0, rows, rows, options.signal));
    // More rows than one batch: run consecutive slices and concatenate the outputs along the first dimension.
    const parts: Record<string, TensorData>[] = [];
    for (let start = 0; start < rows; start += chunk) {
      parts.push(await this.track(this.runChunk(feeds, start, Math.min(chunk, rows - start), rows, options.signal)));
    }
    const out: Record<string, TensorData> = {};
    for (const name of Object.keys(parts[0]!)) {
      const pieces = parts.map((p) => p[name]!);
      const total = pieces.reduce((n, p) => n + p.data.length, 0);
      const Ctor = ARRAY_OF[pieces[0]!.dtype]!;
      const data = new Ctor(new ArrayBuffer(total * Ctor.BYTES_PER_ELEMENT));
      let offset = 0;
      for (const p of pieces) {
        (data as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p.data as ArrayLike<number | bigint>, offset);
        offset += p.data.length;
      }
      out[name] = { data, dims: [pieces.reduce((n, p) => n + p.dims[0]!, 0), ...pieces[0]!.dims.slice(1)], dtype: pieces[0]!.dtype };
    }
    return out;
  }

  private async runChunk(feeds: Feeds, start: number, count: number, rows: number, signal?: AbortSignal): Promise<Record<string, TensorData>> {
    const inputs = this.inputs.map((input) => {
      const t = feeds[input.name]!;
      const perRow = t.data.length / rows;
      const whole = t.data as TypedArray;
      const data = start === 0 && count === rows ? whole : (whole.subarray(start * perRow, (start + count) * perRow) as TypedArray);
      // The caller's bytes as they are: the job thread copies them into pinned staging, nothing on the event loop.
      return { name: input.name, dims: [count, ...t.dims.slice(1)], data: data as ArrayBufferView };
    });
    const outputs = await awaitNativeJob(this.addon.trtEngineInfer(this.handle, { inputs }), signal, 'inference');
    const result: Record<string, TensorData> = {};
    for (const o of outputs) result[o.name] = toTensor(o);
    return result;
  }

  /**
   * trtexec's definitions (sampleReporting.cpp), per batch size: latency = H2D + GPU compute + D2H of one query in a
   * single-stream run (CUDA events; `transfers: false` leaves the copies out); GPU compute and the copies reported
   * separately; throughput = queries x batch / host wall time of a run with queries back to back; warm-up by time
   * (200 ms), then at least `iterations` queries (10) and `durationMs` (3000). With `profileBatchSizes` at build,
   * each batch size runs on the profile (kernels) chosen for it.
   */
  async benchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
    this.check();
    if (!options || !Array.isArray(options.batchSizes) || options.batchSizes.length === 0 || !options.batchSizes.every((b) => Number.isInteger(b) && b > 0)) {
      throw new TrtnError('ERR_INVALID_ARG', 'benchmark needs batchSizes: an array of positive integers');
    }
    const iterations = options.iterations ?? 10;
    const warmupMs = options.warmupMs ?? 200;
    const durationMs = options.durationMs ?? 3000;
    if (options.warmup !== undefined && !(Number.isInteger(options.warmup) && options.warmup >= 0)) throw new TrtnError('ERR_INVALID_ARG', `warmup must be a non-negative integer, got ${options.warmup}`);
    if (!Number.isInteger(iterations) || iterations < 1) throw new TrtnError('ERR_INVALID_ARG', `iterations must be a positive integer, got ${iterations}`);
    if (!(Number.isFinite(warmupMs) && warmupMs >= 0)) throw new TrtnError('ERR_INVALID_ARG', `warmupMs must be a non-negative number, got ${warmupMs}`);
    if (!(Number.isFinite(durationMs) && durationMs >= 0)) throw new TrtnError('ERR_INVALID_ARG', `durationMs must be a non-negative number, got ${durationMs}`);
    const transfers = options.transfers ?? true;
    const rows: BenchmarkRow[] = [];
    for (const [step, batchSize] of options.batchSizes.entries()) {
      if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'benchmark aborted');
      options.onProgress?.({ phase: `benchmark batch ${batchSize}`, step, steps: options.batchSizes.length });
      const inputs = this.inputs.map((input) => ({ name: input.name, dims: this.benchmarkDims(input, batchSize) }));
      const job = this.addon.trtEngineBenchmark(this.handle, { inputs, warmupMs, iterations, durationMs, transfers });
      const s = await this.track(awaitNativeJob(job, options.signal, 'benchmark'));
      rows.push({
        batchSize,
        iterations: s.latencyMs.length,
        latencyMs: latencyStats(s.latencyMs),
        latencySamplesMs: s.latencyMs,
        throughput: (s.throughputQueries * batchSize) / (s.throughputWallMs / 1000),
        gpuMs: latencyStats(s.computeMs),
        ...(transfers ? { h2dMs: latencyStats(s.h2dMs), d2hMs: latencyStats(s.d2hMs) } : {}),
        wallMs: latencyStats(s.wallMs),
      });
    }
    options.onProgress?.({ phase: 'benchmark done', step: options.batchSizes.length, steps: options.batchSizes.length });
    return { backend: 'tensorrt', precision: this.precision, timer: 'cuda-event', transfers, rows };
  }

  private benchmarkDims(input: TensorInfo, batchSize: number): number[] {
    return input.shape.map((d, i) => {
      if (typeof d === 'number' && d >= 0) {
        if (i === 0 && d !== batchSize) throw new TrtnError('ERR_SHAPE', `input '${input.name}' has a fixed batch of ${d}; it cannot run batch ${batchSize}`, { tensor: input.name });
        return d;
      }
      if (i === 0) {
        const max = input.profile?.max[0];
        if (max !== undefined && batchSize > max) throw new TrtnError('ERR_SHAPE', `batch ${batchSize} exceeds the engine's profile maximum ${max} for '${input.name}' (rebuild with a larger maxBatch)`, { tensor: input.name });
        return batchSize;
      }
      return input.profile?.opt[i] ?? 1;
    });
  }

  serialize(): Uint8Array {
    this.check();
    return this.plan;
  }

  async save(path: string): Promise<void> {
    this.check();
    try {
      await writeFile(path, this.plan);
    } catch (err) {
      throw new TrtnError('ERR_IO', `cannot write engine to '${path}': ${(err as Error).message}`, { file: path });
    }
  }

  /** Release the engine; work already running finishes first (the native side holds its own share). */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.addon.trtEngineDispose(this.handle);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.dispose();
  }
}
