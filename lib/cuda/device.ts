import { TrtnError } from '../errors.js';
import { is, invalid } from '../engine/options.js';
import { REBUILD_COMMAND, tryNativeAddon } from '../native/addon.js';
import { cudaNative, hasCudaPart, type NativeCudaError } from './native.js';

export interface CudaDevice {
  index: number;
  name: string;
  /** e.g. '9.0' for an H100. */
  computeCapability: string;
  major: number;
  minor: number;
  totalMemory: number;
  /** Free bytes when queried (creating the device's primary context), else undefined. */
  freeMemory?: number;
  multiProcessorCount: number;
  pciBusId: string;
  uuid: string;
  /** Set when this device could not be queried (then the numbers above are 0). */
  error?: NativeCudaError;
}

export interface CudaInfo {
  /** The addon carries the CUDA runtime layer (it was built with the CUDA toolkit). */
  compiled: boolean;
  /** CUDA toolkit version the addon was compiled against ('13.0'), or null. */
  toolkitVersion: string | null;
  /** CUDA runtime version linked into the addon ('13.0'), or null when not compiled in. */
  runtimeVersion: string | null;
  /** Highest CUDA version the installed driver supports ('13.0'), or null when no driver is installed. */
  driverVersion: string | null;
  deviceCount: number;
  devices: CudaDevice[];
  /** Why there is no usable device (set when deviceCount is 0). */
  reason?: string;
  /** How a user makes CUDA usable (set with reason). */
  fix?: string;
  /** The error code a CUDA call would raise here: ERR_NO_CUDA, ERR_NO_CUDA_DEVICE, ERR_CUDA or ERR_NATIVE_LOAD. */
  errorCode?: string;
  /** The CUDA error behind `reason`, e.g. 'cudaErrorNoDevice'. */
  cudaError?: string;
}

/** 13000 -> '13.0', 12080 -> '12.8' (the encoding of cudaDriverGetVersion/cudaRuntimeGetVersion). */
export function formatCudaVersion(encoded: number): string | null {
  if (!Number.isInteger(encoded) || encoded <= 0) return null;
  return `${Math.floor(encoded / 1000)}.${Math.floor((encoded % 1000) / 10)}`;
}

/**
 * What CUDA can do here. Never throws for a missing GPU, driver or CUDA build: it reports 0 devices and why.
 * `freeMemory: true` also asks each device for its free memory (this creates each device's CUDA context).
 */
export function cudaInfo(options: { freeMemory?: boolean } = {}): CudaInfo {
  if (!is.object(options)) throw invalid('options', 'an object', options);
  if (options.freeMemory !== undefined && typeof options.freeMemory !== 'boolean') throw invalid('freeMemory', 'a boolean', options.freeMemory);
  const { addon, error } = tryNativeAddon();
  if (!addon) {
    return {
      compiled: false, toolkitVersion: null, runtimeVersion: null, driverVersion: null, deviceCount: 0, devices: [],
      reason: error?.message ?? 'the native addon could not be loaded', fix: `run '${REBUILD_COMMAND}' (needs cmake and a C++ compiler)`, errorCode: 'ERR_NATIVE_LOAD',
    };
  }
  const toolkitVersion = addon.buildInfo().cuda;
  if (!hasCudaPart(addon)) {
    return {
      compiled: false, toolkitVersion, runtimeVersion: null, driverVersion: null, deviceCount: 0, devices: [],
      reason: 'the native addon was built without CUDA', errorCode: 'ERR_NO_CUDA',
      fix: `install the CUDA toolkit and rebuild with '${REBUILD_COMMAND}'`,
    };
  }
  const raw = cudaNative(addon).cudaInfo(options.freeMemory ?? false);
  const runtimeVersion = formatCudaVersion(raw.runtimeVersion);
  const driverVersion = formatCudaVersion(raw.driverVersion);
  const devices: CudaDevice[] = raw.devices.map((d) => ({
    index: d.index,
    name: d.name ?? 'unknown',
    computeCapability: d.major === undefined ? 'unknown' : `${d.major}.${d.minor}`,
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    totalMemory: d.totalMemory ?? 0,
    ...(d.freeMemory !== undefined ? { freeMemory: d.freeMemory } : {}),
    multiProcessorCount: d.multiProcessorCount ?? 0,
    pciBusId: d.pciBusId ?? '',
    uuid: d.uuid ?? '',
    ...(d.error ? { error: d.error } : {}),
  }));
  const info: CudaInfo = { compiled: true, toolkitVersion, runtimeVersion, driverVersion, deviceCount: raw.deviceCount, devices };
  if (raw.deviceCount === 0) Object.assign(info, explainNoDevice(raw.error, raw.driverVersion, runtimeVersion));
  return info;
}

function explainNoDevice(error: NativeCudaError | undefined, driver: number, runtime: string | null): Pick<CudaInfo, 'reason' | 'fix' | 'errorCode' | 'cudaError'> {
  const name = error?.name ?? 'cudaErrorNoDevice';
  const code = error?.code ?? 'ERR_NO_CUDA_DEVICE';
  if (driver === 0) {
    return {
      reason: `no NVIDIA driver is installed (libcuda could not be loaded; ${name})`,
      fix: 'install the NVIDIA driver for your GPU (nvidia-smi must work); in a container, run it with the GPU exposed (e.g. docker --gpus all)',
      errorCode: code, cudaError: name,
    };
  }
  if (name === 'cudaErrorInsufficientDriver') {
    return {
      reason: `the NVIDIA driver supports CUDA ${formatCudaVersion(driver)}, older than the CUDA ${runtime} runtime the addon was built with (${name})`,
      fix: `upgrade the NVIDIA driver to one supporting CUDA ${runtime}, or rebuild the addon against an older CUDA toolkit`,
      errorCode: code, cudaError: name,
    };
  }
  return {
    reason: error ? error.message : 'the driver reports no CUDA device',
    fix: 'check nvidia-smi lists a GPU and CUDA_VISIBLE_DEVICES does not hide it',
    errorCode: code, cudaError: name,
  };
}

/** The CUDA devices here (empty when there are none; see cudaInfo().reason for why). */
export function cudaDevices(options: { freeMemory?: boolean } = {}): CudaDevice[] {
  return cudaInfo(options).devices;
}

/** Free and total device memory in bytes (throws ERR_NO_CUDA / ERR_NO_CUDA_DEVICE / ERR_CUDA). */
export function cudaMemInfo(device = 0): { free: number; total: number } {
  checkDevice(device);
  return cudaNative().cudaMemInfo(device);
}

/** Validate a device index before anything crosses into C++. */
export function checkDevice(device: unknown, name = 'device'): number {
  if (!is.nonNegInt(device)) throw invalid(name, 'a non-negative integer device index', device);
  return device;
}

/** Throw the TrtnError a CUDA call would raise here, or return when a device is usable (for guards and tests). */
export function requireCudaDevice(device = 0): void {
  checkDevice(device);
  const info = cudaInfo();
  if (device < info.deviceCount) return;
  const code = (info.errorCode as 'ERR_NO_CUDA' | 'ERR_NO_CUDA_DEVICE' | 'ERR_NATIVE_LOAD' | undefined) ?? 'ERR_NO_CUDA_DEVICE';
  const reason = info.deviceCount > 0 ? `device ${device} does not exist (${info.deviceCount} CUDA device(s))` : info.reason;
  throw new TrtnError(code, `no usable CUDA device ${device}: ${reason}`, { device, cudaError: info.cudaError });
}
