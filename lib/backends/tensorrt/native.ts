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
}

export interface TrtProbe {
  cudaDevices: number;
  cudaError: string | null;
  /** createInferRuntime / createInferBuilder succeeded; null when not tried (no device). */
  runtime: boolean | null;
  builder: boolean | null;
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
  /** Present: use a timing cache (empty bytes start a new one). */
  timingCache?: Uint8Array;
  calib?: { algorithm: string; batchSize: number; cache?: Uint8Array; pull?: () => Promise<unknown> };
  logger?: (severity: string, message: string) => void;
  logLevel: number;
  onProgress?: (p: { phase: string; step: number; steps: number }) => void;
}

export interface NativeBuildResult {
  plan: Uint8Array;
  timingCache: Uint8Array | null;
  calibrationCache: Uint8Array | null;
  calibrationBatches: number;
}

export interface NativeTensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  profile?: { min: number[]; opt: number[]; max: number[] };
}

export interface NativeEngineInfo {
  inputs: NativeTensorInfo[];
  outputs: NativeTensorInfo[];
  deviceMemoryBytes: number;
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

export interface TrtAddon {
  trtRuntimeInfo(): TrtRuntimeInfo;
  trtProbe(probeFactories?: boolean): TrtProbe;
  trtBuild(options: NativeBuildOptions): NativeJob<NativeBuildResult>;
  trtLoadEngine(plan: Uint8Array, options: { device: number; logger?: NativeBuildOptions['logger']; logLevel: number }): NativeJob<{ handle: EngineHandle; info: NativeEngineInfo }>;
  trtEngineInfer(handle: EngineHandle, options: { inputs: { name: string; dims: number[]; data: Uint8Array }[] }): NativeJob<NativeTensorOut[]>;
  trtEngineBenchmark(handle: EngineHandle, options: { inputs: { name: string; dims: number[] }[]; warmup: number; iterations: number; transfers: boolean }): NativeJob<{ gpuMs: number[]; wallMs: number[] }>;
  trtEngineDispose(handle: EngineHandle): void;
}

export function hasTensorRt(addon: object): addon is TrtAddon {
  return typeof (addon as Partial<TrtAddon>).trtBuild === 'function' && typeof (addon as Partial<TrtAddon>).trtRuntimeInfo === 'function';
}
