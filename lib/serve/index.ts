// Serving: Triton model repositories (export, config.pbtxt) and the Open Inference Protocol server.
export { exportModelRepository, modelConfigFor, preferredBatchSizes, readModelRepository, type ExportRepositoryOptions, type ExportedRepository, type DynamicBatchingOptions, type RepositoryModel } from './repository.js';
export { parseModelConfig, formatModelConfig, validateModelConfig, type ModelConfig, type TensorConfig, type DynamicBatchingConfig, type InstanceGroupConfig, type VersionPolicy } from './model-config.js';
export { serve, type ServeOptions, type ModelServer, type ServedModelInfo } from './server.js';
export { DynamicBatcher, type BatcherOptions, type BatcherStats } from './batcher.js';
export { measureEndpoint, formatEndpointPerf, type EndpointPerfOptions, type EndpointPerfRow } from './perf.js';
