/**
 * How each precision is realised on each TensorRT major version. The native builder follows this plan exactly
 * (it sets these flags and nothing else), so this function is the one place the version rules live.
 *
 * - 8.6 and 10.x ("implicit" precision): builder flags. FP16 sets kFP16; INT8 sets kINT8 and calibrates with
 *   TensorRT's own calibrators fed from the TypeScript loader ('entropy' = IInt8EntropyCalibrator2, 'minmax',
 *   'legacy-entropy'); layers TensorRT cannot run in INT8 fall back to FP32. 'percentile' is not a TensorRT
 *   calibrator: it goes through the explicit Q/DQ path (scales computed by the project's own calibration) with
 *   kINT8 set so TensorRT honours the Q/DQ nodes.
 * - 11.x: the precision flags and the calibrators are gone and every network is strongly typed: precision comes
 *   from the model itself. FP16 builds the FP16-converted ONNX; INT8 builds the Q/DQ ONNX made by the project's
 *   own calibration.
 * - FP32 clears TF32 everywhere (TensorRT enables it by default), so FP32 is the true baseline of a comparison.
 */
import { TrtnError } from '../../errors.js';
import type { CalibAlgorithm } from '../../engine/options.js';
import type { Precision } from '../../engine/types.js';

export type BuilderFlag = 'fp16' | 'int8' | 'tf32';
export type PrecisionPath = 'none' | 'implicit' | 'explicit-qdq' | 'fp16-converted-onnx';

export interface PrecisionPlan {
  /** Builder flags to set; all other precision flags are cleared. */
  flags: BuilderFlag[];
  /** How the precision is obtained: builder flags, a Q/DQ model, an FP16 model, or nothing (FP32). */
  path: PrecisionPath;
  /** Build the network strongly typed (precision from the model's own types). */
  stronglyTyped: boolean;
  /** TensorRT calibrator to use (implicit INT8 only). */
  calibrator?: Exclude<CalibAlgorithm, 'percentile'>;
  /** The model must be converted before the build: Q/DQ insertion or FP16 conversion. */
  convert?: 'qdq' | 'fp16';
  /** Human-readable summary, reported as engine.path. */
  description: string;
}

export const SUPPORTED_TENSORRT_MAJORS = [8, 10, 11] as const;

/**
 * @param calibrated whether INT8 scales can be had (calib data or cache given); 'best' without them is FP16 (+TF32).
 */
export function planPrecision(major: number, precision: Precision, algorithm: CalibAlgorithm = 'entropy', calibrated = true): PrecisionPlan {
  if (!Number.isInteger(major) || major < 8) {
    throw new TrtnError('ERR_UNSUPPORTED', `TensorRT ${major} is not supported (8.6, 10.x and 11.x are)`);
  }
  const implicit = major < 11;
  switch (precision) {
    case 'fp32':
      return { flags: [], path: 'none', stronglyTyped: false, description: 'fp32 (TF32 disabled)' };
    case 'fp16':
      return implicit
        ? { flags: ['fp16'], path: 'implicit', stronglyTyped: false, description: 'implicit-fp16 (kFP16 builder flag)' }
        : { flags: [], path: 'fp16-converted-onnx', stronglyTyped: true, convert: 'fp16', description: 'fp16-converted-onnx (strongly typed)' };
    case 'int8':
      if (implicit && algorithm !== 'percentile') {
        return { flags: ['int8'], path: 'implicit', stronglyTyped: false, calibrator: algorithm, description: `implicit-int8 (${algorithm} calibrator)` };
      }
      return implicit
        ? { flags: ['int8'], path: 'explicit-qdq', stronglyTyped: false, convert: 'qdq', description: `explicit-qdq (${algorithm} scales, kINT8 builder flag)` }
        : { flags: [], path: 'explicit-qdq', stronglyTyped: true, convert: 'qdq', description: `explicit-qdq (${algorithm} scales, strongly typed)` };
    case 'best':
      if (!calibrated) {
        return implicit
          ? { flags: ['fp16', 'tf32'], path: 'implicit', stronglyTyped: false, description: 'implicit-best without calibration (fp16+tf32)' }
          : { flags: ['tf32'], path: 'fp16-converted-onnx', stronglyTyped: true, convert: 'fp16', description: 'fp16-converted-onnx best (strongly typed, TF32 allowed)' };
      }
      if (implicit) {
        const calibrator = algorithm === 'percentile' ? undefined : algorithm;
        return calibrator
          ? { flags: ['fp16', 'int8', 'tf32'], path: 'implicit', stronglyTyped: false, calibrator, description: `implicit-best (fp16+int8+tf32, ${calibrator} calibrator)` }
          : { flags: ['fp16', 'int8', 'tf32'], path: 'explicit-qdq', stronglyTyped: false, convert: 'qdq', description: 'explicit-qdq best (fp16+int8+tf32 flags)' };
      }
      return { flags: ['tf32'], path: 'explicit-qdq', stronglyTyped: true, convert: 'qdq', description: 'explicit-qdq best (strongly typed, TF32 allowed)' };
  }
}

/** A model that already carries Q/DQ: TensorRT's explicit quantization from the model's own scales, no calibrator. */
export function prequantizedPlan(major: number): PrecisionPlan {
  return major < 11
    ? { flags: ['int8'], path: 'explicit-qdq', stronglyTyped: false, description: 'explicit-qdq (scales from the model, kINT8 builder flag)' }
    : { flags: [], path: 'explicit-qdq', stronglyTyped: true, description: 'explicit-qdq (scales from the model, strongly typed)' };
}
