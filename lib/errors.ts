/**
 * Every error a user can cause is a TrtnError with a stable code. The native addon throws the same
 * class (it is registered with the addon at load time), so `err instanceof TrtnError` and `err.code`
 * work whichever layer failed.
 */
export const ERROR_CODES = {
  ERR_INVALID_ARG: 'an option or argument is invalid',
  ERR_NO_CUDA: 'the addon was built without CUDA',
  ERR_NO_CUDA_DEVICE: 'no usable CUDA device (no GPU, no driver, or device index out of range)',
  ERR_CUDA: 'a CUDA runtime call failed',
  ERR_NO_TENSORRT: 'the addon was built without TensorRT, or TensorRT failed to initialise',
  ERR_TENSORRT: 'a TensorRT call failed',
  ERR_BACKEND_UNAVAILABLE: 'the requested backend cannot run here',
  ERR_ONNX_LOAD: 'an ONNX file could not be read or decoded',
  ERR_ONNX_PARSE: 'an ONNX graph was rejected (parser, checker or unsupported node)',
  ERR_ONNX_MODEL: 'an ONNX model has no usable inputs/outputs for the requested operation',
  ERR_BUILD: 'an engine build failed',
  ERR_ENGINE_LOAD: 'a serialized engine (plan) could not be loaded',
  ERR_CALIB_DATA: 'calibration data was missing, malformed or failed to load',
  ERR_CALIB_CACHE: 'a calibration cache could not be read or written',
  ERR_SHAPE: 'a tensor has the wrong shape',
  ERR_DTYPE: 'a tensor has the wrong data type',
  ERR_INFERENCE: 'an inference run failed',
  ERR_DISPOSED: 'the object was used after dispose()',
  ERR_ABORTED: 'the operation was cancelled through its AbortSignal',
  ERR_DATA_FORMAT: 'a data file is malformed (wrong magic, truncated, bad size)',
  ERR_DATA: 'a data source is unusable (empty, missing, inconsistent labels)',
  ERR_IO: 'a file could not be read or written',
  ERR_UNSUPPORTED: 'the operation is not supported by this backend, build or model',
  ERR_NATIVE_LOAD: 'the native addon could not be loaded',
  ERR_TOOLCHAIN: 'a build tool the addon needs (cmake, a C++ compiler) is missing or failed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TrtnErrorDetails {
  /** The offending file, tensor, node or entry, where there is one. */
  file?: string;
  tensor?: string;
  node?: string;
  [key: string]: unknown;
}

export class TrtnError extends Error {
  override readonly name = 'TrtnError';
  readonly code: ErrorCode;
  readonly details: TrtnErrorDetails;

  constructor(code: ErrorCode, message: string, details: TrtnErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export function isTrtnError(err: unknown, code?: ErrorCode): err is TrtnError {
  return err instanceof TrtnError && (code === undefined || err.code === code);
}

/** Wrap any thrown value as a TrtnError with `code`, keeping an existing TrtnError as it is. */
export function asTrtnError(err: unknown, code: ErrorCode, context: string, details: TrtnErrorDetails = {}): TrtnError {
  if (err instanceof TrtnError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TrtnError(code, `${context}: ${message}`, details, { cause: err });
}
