/** lib/calib: calibration statistics, threshold algorithms and TensorRT's calibration cache format. */
export { TensorStats, DEFAULT_HISTOGRAM_BINS, type TensorStatsJSON } from './histogram.js';
export { minmaxAmax, percentileAmax, entropyAmax, entropyDivergence, entropyHistogram, computeAmax, scaleFromAmax, DEFAULT_PERCENTILE, ENTROPY_LEVELS, POINT_MASS_SIGMAS, type ThresholdOptions } from './algorithms.js';
export { readCalibrationCache, writeCalibrationCache, floatToHex, hexToFloat, calibratorName, DEFAULT_CACHE_VERSION, type CalibrationCache } from './cache.js';
export { collectStatistics, calibrate, type CollectOptions, type CollectResult, type CalibrateOptions, type CalibrationResult } from './calibrate.js';
