/** The TensorRT backend; importing this module registers it with the backend registry. */
import { registerBackend } from '../../engine/backend.js';
import { tensorrtBackend } from './backend.js';

registerBackend(tensorrtBackend);

export { tensorrtBackend, tensorRtAvailability, buildTensorRtEngine, loadTensorRtEngine, nativeBuildOptions, REBUILD_FIX, DEFAULT_MAX_BATCH } from './backend.js';
export { TensorRtEngine, precisionFromLayerInfo } from './engine.js';
export { planPrecision, SUPPORTED_TENSORRT_MAJORS, type PrecisionPlan, type PrecisionPath, type BuilderFlag } from './precision.js';
export { recognisesPlan } from './plan-format.js';
export { setExplicitModelConverters, type ExplicitModelConverters } from './explicit.js';

export { trtRuntimeInfo } from './info.js';
