import { TrtnError } from '../errors.js';
import { nativeAddon, REBUILD_COMMAND, type NativeAddon } from '../native/addon.js';

/** What native/cuda/device.cc reports; the public shape is CudaInfo in device.ts. */
export interface NativeCudaError {
  code: 'ERR_CUDA' | 'ERR_NO_CUDA_DEVICE';
  /** CUDA error name, e.g. 'cudaErrorNoDevice'. */
  name: string;
  message: string;
}

export interface NativeCudaDevice {
  index: number;
  name?: string;
  major?: number;
  minor?: number;
  totalMemory?: number;
  freeMemory?: number;
  multiProcessorCount?: number;
  pciBusId?: string;
  uuid?: string;
  error?: NativeCudaError;
}

export interface NativeCudaInfo {
  driverVersion: number;
  runtimeVersion: number;
  deviceCount: number;
  devices: NativeCudaDevice[];
  error?: NativeCudaError;
}

/** Host memory a native copy accepts. */
export type NativeHost = ArrayBufferView | ArrayBuffer | NativePinnedBuffer;

export interface NativeDeviceBuffer {
  readonly byteLength: number;
  readonly device: number;
  readonly disposed: boolean;
  copyFromHost(host: NativeHost, hostOffset: number, deviceOffset: number, bytes: number): void;
  copyToHost(host: NativeHost, hostOffset: number, deviceOffset: number, bytes: number): void;
  copyFromHostAsync(host: NativePinnedBuffer, hostOffset: number, deviceOffset: number, bytes: number, stream: NativeStream): void;
  copyToHostAsync(host: NativePinnedBuffer, hostOffset: number, deviceOffset: number, bytes: number, stream: NativeStream): void;
  dispose(): void;
}

export interface NativePinnedBuffer {
  readonly byteLength: number;
  readonly disposed: boolean;
  arrayBuffer(): ArrayBuffer;
  dispose(): void;
}

export interface NativeStream {
  readonly device: number;
  readonly disposed: boolean;
  readonly pendingHostBuffers: number;
  synchronize(): void;
  query(): boolean;
  dispose(): void;
}

export interface NativeEvent {
  readonly device: number;
  readonly disposed: boolean;
  record(stream: NativeStream): void;
  synchronize(): void;
  query(): boolean;
  recordAndSynchronize(stream: NativeStream): void;
  dispose(): void;
}

/** The addon's CUDA part (native/cuda), present when the addon was compiled with the CUDA toolkit. */
export interface CudaNative {
  cudaInfo(withFreeMemory: boolean): NativeCudaInfo;
  cudaMemInfo(device: number): { free: number; total: number };
  cudaEventElapsedTime(start: NativeEvent, end: NativeEvent): number;
  CudaDeviceBuffer: new (bytes: number, device: number) => NativeDeviceBuffer;
  CudaPinnedBuffer: new (bytes: number) => NativePinnedBuffer;
  CudaStream: new (device: number) => NativeStream;
  CudaEvent: new (device: number) => NativeEvent;
  cudaBenchMemcpy(direction: 'h2d' | 'd2h', bytes: number, iterations: number, device: number): Float64Array;
  cudaBenchEventRoundTrip(iterations: number, device: number): number;
  /**
   * Test hook: a CUDA runtime call that fails everywhere (cudaRuntimeGetVersion(nullptr): cudaErrorInvalidValue),
   * reported as the CUDA layer reports failures. false: throws ERR_CUDA here; true: runs on a native thread and
   * rejects the returned promise with ERR_CUDA.
   */
  testCudaFailure(onNativeThread: false): void;
  testCudaFailure(onNativeThread: true): { promise: Promise<void>; cancel(reason?: string): void };
}

/** True when this addon object carries the CUDA part. */
export function hasCudaPart(addon: NativeAddon): boolean {
  return typeof addon.cudaInfo === 'function' && typeof addon.CudaDeviceBuffer === 'function';
}

/** The CUDA part of the loaded addon; ERR_NO_CUDA when the addon was built without the CUDA toolkit. */
export function cudaNative(addon: NativeAddon = nativeAddon()): CudaNative {
  if (!hasCudaPart(addon)) {
    throw new TrtnError(
      'ERR_NO_CUDA',
      'the native addon was built without CUDA (buildInfo().cuda is null); install the CUDA toolkit ' +
        `(nvcc and the cudart library, found by CMake's FindCUDAToolkit) and rebuild with '${REBUILD_COMMAND}'`,
    );
  }
  return addon as unknown as CudaNative;
}
