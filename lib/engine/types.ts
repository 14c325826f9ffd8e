/** Backend-agnostic types: nothing here names TensorRT or ONNX Runtime classes. */

/** Element types: ONNX's names as onnxruntime spells them (float64 is ONNX DOUBLE). */
export type DType =
  | 'float32' | 'float16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string';

export const DTYPES: readonly DType[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string'];

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array // float16 payloads travel as raw 16-bit words; also uint16
  | Int16Array
  | Int8Array
  | Uint8Array // uint8 and bool
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A typed-array class (Float32Array, ...), constructible from a length or over a buffer. */
export interface TypedArrayClass {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArray;
  readonly name: string;
  readonly BYTES_PER_ELEMENT: number;
}

/** The array class carrying each numeric dtype (float16 as raw 16-bit words, bool as 0/1 bytes); 'string' is a string[]. */
export const ARRAY_CLASS_OF: Readonly<Record<Exclude<DType, 'string'>, TypedArrayClass>> = {
  float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
};

/** The class name a tensor's data must have for `dtype` ('Array' for strings). */
export function arrayClassName(dtype: DType): string {
  return dtype === 'string' ? 'Array' : ARRAY_CLASS_OF[dtype].name;
}

/** What a tensor's data may be: a typed array, or a string array for dtype 'string'. */
export type TensorValues = TypedArray | string[];

/** A tensor crossing the public API: data plus dims (row-major, NCHW for images). */
export interface TensorData {
  readonly data: TensorValues;
  readonly dims: readonly number[];
  readonly dtype: DType;
}

export type Feeds = Record<string, TensorData>;

/** A dimension is a number, or -1 / a symbolic name where it is dynamic. */
export type Dim = number | string;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  /** Per-dimension min/opt/max the engine accepts (TensorRT: over all its optimization profiles), when known. */
  readonly profile?: { min: number[]; opt: number[]; max: number[] };
  /** Each optimization profile, when the engine has several (TensorRT `profileBatchSizes`). */
  readonly profiles?: readonly { min: number[]; opt: number[]; max: number[] }[];
}

export type Precision = 'fp32' | 'fp16' | 'int8' | 'best';
export type BackendName = 'tensorrt' | 'onnxruntime' | 'remote';
export type Severity = 'error' | 'warning' | 'info' | 'verbose';
export type Logger = (severity: Severity, message: string) => void;

export interface Progress {
  phase: string;
  step: number;
  steps: number;
}

export interface LatencyStats {
  mean: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

export interface BenchmarkRow {
  batchSize: number;
  iterations: number;
  /**
   * Latency per batch in ms, from the backend's primary timer: on TensorRT H2D copy + GPU compute + D2H copy timed
   * with CUDA events (trtexec's "latency"); the host clock around the runtime's run call otherwise.
   */
  latencyMs: LatencyStats;
  /**
   * Images (batch items) per second: queries x batch / host wall time where the backend measures it (TensorRT),
   * batch / median latency otherwise.
   */
  throughput: number;
  /** GPU compute time per batch (no copies) measured with CUDA events, where a GPU ran the batch. */
  gpuMs?: LatencyStats;
  /** Host-to-device copy time per batch (CUDA events), where the backend times it separately. */
  h2dMs?: LatencyStats;
  /** Device-to-host copy time per batch (CUDA events), where the backend times it separately. */
  d2hMs?: LatencyStats;
  /** Host wall-clock time per batch, always reported. */
  wallMs: LatencyStats;
  /** The per-iteration latencies (ms) latencyMs summarizes, in run order, where the backend keeps them. */
  latencySamplesMs?: number[];
}

export interface BenchmarkResult {
  backend: BackendName;
  precision: string;
  timer: 'cuda-event' | 'host';
  transfers: boolean;
  rows: BenchmarkRow[];
}

export interface BenchmarkOptions {
  batchSizes: number[];
  warmup?: number;
  /** Warm-up time before timing (TensorRT: 200 ms, as trtexec). */
  warmupMs?: number;
  iterations?: number;
  /** Time at least this long per batch size (TensorRT: 3000 ms, as trtexec), and at least `iterations` queries. */
  durationMs?: number;
  /** Include host<->device copies in latency (TensorRT, default true: trtexec's latency); ignored on CPU backends. */
  transfers?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface InferOptions {
  /** Batch size to run when feeds carry more rows than one batch; default: the feeds' first dim. */
  batch?: number;
  signal?: AbortSignal;
}

export interface Engine extends Disposable, AsyncDisposable {
  readonly backend: BackendName;
  /** The precision asked for. */
  readonly precision: Precision;
  /** How the precision was realised, e.g. 'implicit-int8 (entropy calibrator)', 'explicit-qdq', 'fp16-converted-onnx'. */
  readonly path: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  infer(feeds: Feeds, options?: InferOptions): Promise<Record<string, TensorData>>;
  benchmark(options: BenchmarkOptions): Promise<BenchmarkResult>;
  /** Serialized form: a TensorRT plan, or the ONNX model the ONNX Runtime backend runs. */
  serialize(): Uint8Array;
  save(path: string): Promise<void>;
  dispose(): void;
  readonly disposed: boolean;
}
