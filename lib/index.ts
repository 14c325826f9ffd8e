export { TrtnError, ERROR_CODES, isTrtnError, type ErrorCode } from './errors.js';
export * from './engine/types.js';
export type { BuildOptions, LoadOptions, CalibOptions, CalibAlgorithm, ShapeRange } from './engine/options.js';
export { buildEngine, loadEngine } from './engine/api.js';
export type { Dataset, Batch, BatchOptions, DataSource } from './data/types.js';
