/** The TensorRT members of the native addon (present only when it was compiled against TensorRT). */
import type { NativeJob } from '../../native/bridge.js';
import type { DType } from '../../engine/types.js';

export interface TrtRuntimeInfo {
  /** TensorRT version the addon was compiled against. */
  compiled: string;
  compiledMajor: number;
  /** Version of the libnvinfer actually loaded (getInferLibVersion). */
  loaded: string;
  loadedMajor: number;
  /** Whether the compiled-in API has precision builder flags and calibrators (8.6, 10.x). */
  implicitPrecision: boolean;
  /** IProgressMonitor (10.0+): progress and cancellation at every build step. */
  progressMonitor: boolean;
  /** The test-only simulator of TensorRT and CUDA is linked in instead of TensorRT (never a shipped build). */
  simulator: boolean;
}

export interface TrtProbe {
  cudaDevices: number;
  cudaError: string | null;
  /** createInferRuntime succeeded; null when not tried (no device). */
  runtime: boolean | null;
  /** TensorRT's error messages during the probe. */
  messages: string;
}

export interface NativeBuildOptions {
  onnxPath?: string;
  onnxBytes?: Uint8Array;
  flags: string[];
  stronglyTyped: boolean;
  workspaceBytes?: number;
  optimizationLevel?: number;
  device: number;
  maxBatch: number;
  shapes?: Record<string, { min: number[]; opt: number[]; max: number[] }>;
  /** One optimization profile per batch size. */
  profileBatchSizes?: number[];
  /** Timing cache file: read (a corrupt or foreign one is replaced, with a note), then merged and written under a lock. */
  timingCachePath?: string;
  calib?: { algorithm: string; batchSize: number; cache?: Uint8Array; pull?: () => Promise<unknown> };
  logger?: (severity: string, message: string) => void;
  logLevel: number;
  onProgress?: (p: { phase: string; step: number; steps: number }) => void;
}

export interface NativeBuildResult {
  plan: Uint8Array;
  calibrationCache: Uint8Array | null;
  calibrationBatches: number;
  /** Optimization profiles in the plan (0 when no input is dynamic). */
  profiles: number;
  /** What the build tolerated (a timing cache replaced, ...), also logged as warnings. */
  notes: string[];
}

export interface NativeTensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** min/opt/max per optimization profile. */
  profiles?: { min: number[]; opt: number[]; max: number[] }[];
}

export interface NativeEngineInfo {
  inputs: NativeTensorInfo[];
  outputs: NativeTensorInfo[];
  /** Device memory one execution context takes. */
  contextMemoryBytes: number;
  /** Execution contexts the pool may hold (bounded by free device memory at load). */
  maxContexts: number;
  layerCount: number;
  profileCount: number;
  /** IEngineInspector JSON ('' when unavailable). */
  layerInfo: string;
}

export interface NativeTensorOut {
  name: string;
  dtype: DType;
  dims: number[];
  data: Uint8Array;
}

export type EngineHandle = { readonly __engineHandle: unique symbol };

/** Per-query samples of a benchmark run, trtexec's definitions (ms). */
export interface NativeBenchmarkSamples {
  /** H2D + GPU compute + D2H of one query (CUDA events). */
  latencyMs: number[];
  /** GPU compute alone. */
  computeMs: number[];
  h2dMs: number[];
  d2hMs: number[];
  /** Host wall time of each latency-run query. */
  wallMs: number[];
  /** The throughput run: queries back to back, and its host wall time. */
  throughputQueries: number;
  throughputWallMs: number;
}

export interface TrtAddon {
  trtRuntimeInfo(): TrtRuntimeInfo;
  trtProbe(probeFactories?: boolean): NativeJob<TrtProbe>;
  trtHoldExit(ms: number): boolean;
  trtBuild(options: NativeBuildOptions): NativeJob<NativeBuildResult>;
  trtLoadEngine(plan: Uint8Array, options: { device: number; logger?: NativeBuildOptions['logger']; logLevel: number }): NativeJob<{ handle: EngineHandle; info: NativeEngineInfo }>;
  trtEngineInfer(handle: EngineHandle, options: { inputs: { name: string; dims: number[]; data: ArrayBufferView }[] }): NativeJob<NativeTensorOut[]>;
  trtEngineBenchmark(handle: EngineHandle, options: { inputs: { name: string; dims: number[] }[]; warmupMs: number; iterations: number; durationMs: number; transfers: boolean }): NativeJob<NativeBenchmarkSamples>;
  trtEngineStats(handle: EngineHandle): { contexts: number; maxContexts: number; deviceMemoryBytes: number };
  trtEngineDispose(handle: EngineHandle): void;
}

export function hasTensorRt(addon: object): addon is TrtAddon {
  return typeof (addon as Partial<TrtAddon>).trtBuild === 'function' && typeof (addon as Partial<TrtAddon>).trtRuntimeInfo === 'function';
}
