// The public API: everything a user imports from 'tensorrt-node'. Nothing else is public.
import './backends/index.js';

export { TrtnError, ERROR_CODES, isTrtnError, type ErrorCode, type TrtnErrorDetails } from './errors.js';
export * from './engine/types.js';
export type { BuildOptions, LoadOptions, CalibOptions, CalibAlgorithm, ShapeRange } from './engine/options.js';
export { buildEngine, loadEngine } from './engine/api.js';
export { listBackends, type Backend, type Availability, type ModelSource } from './engine/backend.js';

// Data loaders: what calibration, evaluation and benchmarks consume.
export * from './data/index.js';

// ONNX model I/O, inspection and rewrites; model generators.
export * from './onnx/index.js';
export * from './models/index.js';

// CUDA runtime layer (Event is exported as CudaEvent so it does not shadow the global Event).
export {
  cudaInfo, cudaDevices, cudaMemInfo, requireCudaDevice, DeviceBuffer, PinnedBuffer, Stream, Event as CudaEvent,
  type CudaInfo, type CudaDevice, type HostMemory, type CopyOptions, type DeviceOptions,
} from './cuda/index.js';
export { doctor, formatDoctorReport, type DoctorReport } from './doctor/index.js';

// The study: matrix runner, metrics and report writers.
export * from './bench/index.js';

// Quantization toolkit: calibration statistics, thresholds, TensorRT caches, Q/DQ and FP16 rewriting.
export * from './calib/index.js';
export { planQdq, insertQdq, weightAxis, QDQ_COMPUTE_OPS, ORT_DISABLED_OPTIMIZERS_KEY, type QdqOptions, type QdqReport, type QdqPlan, type QdqTarget } from './onnx/qdq.js';
export { convertToFp16, type Fp16Options, type Fp16Report } from './onnx/fp16.js';
export { quantizeModel, DEFAULT_CALIB_SIZE, type QuantizeOptions, type QuantizeResult, type QuantizeReport, type AccuracyBudget } from './quantize/index.js';
export type { BudgetMetric, BudgetCandidate, BudgetReport } from './quantize/budget.js';
export { measurePlacement, ortTimer, type MeasuredPlacementOptions, type PlacementReport, type PlacementDecision, type PlacementTimer, type PlacementTiming } from './quantize/placement.js';

// Backend specifics users may inspect.
export { planPrecision, recognisesPlan, trtRuntimeInfo, tensorRtAvailability, type PrecisionPlan, type PrecisionPath } from './backends/tensorrt/index.js';
export { Lifecycle } from './engine/lifecycle.js';

// Serving: Triton model repositories, the Open Inference Protocol server, and the remote engine.
export * from './serve/index.js';
export { RemoteEngine } from './backends/remote/index.js';
