/**
 * The explicit precision paths (TensorRT 11.x for FP16/INT8, and 'percentile' INT8 on 8.6/10.x): the model is
 * converted before the build, by the project's ONNX tools: Q/DQ insertion with the project's own calibration
 * (quantizeModel), or FP16 conversion. Those live in lib/onnx and lib/calib; they are wired in here through
 * setExplicitModelConverters so this backend has no compile-time dependency on them.
 */
import { TrtnError } from '../../errors.js';
import type { BuildOptions } from '../../engine/options.js';
import type { ModelSource } from '../../engine/backend.js';

export interface ExplicitModelConverters {
  /** Q/DQ ONNX bytes from a model and the calibration options (algorithm, data, percentile, cache). */
  quantize?: (model: ModelSource, options: BuildOptions) => Promise<Uint8Array>;
  /** FP16 ONNX bytes (keeping options.keepFp32 in FP32). */
  toFp16?: (model: ModelSource, options: BuildOptions) => Promise<Uint8Array>;
}

const converters: ExplicitModelConverters = {};

export function setExplicitModelConverters(c: ExplicitModelConverters): void {
  Object.assign(converters, c);
}

export async function convertForExplicitPath(kind: 'qdq' | 'fp16', model: ModelSource, options: BuildOptions, why: string): Promise<Uint8Array> {
  const convert = kind === 'qdq' ? converters.quantize : converters.toFp16;
  if (!convert) {
    throw new TrtnError(
      'ERR_UNSUPPORTED',
      `${why} needs the ${kind === 'qdq' ? 'Q/DQ quantizer (quantizeModel)' : 'FP16 ONNX conversion'}, which is not registered with the TensorRT backend`,
      { path: kind === 'qdq' ? 'explicit-qdq' : 'fp16-converted-onnx' },
    );
  }
  return convert(model, options);
}
