/** The benchmark study: matrix runner, metrics and report writers. */
export {
  STUDY_PRECISIONS,
  STUDY_BACKENDS,
  INPUT_SETTINGS,
  DEFAULT_BATCH_SIZES,
  DEFAULT_INPUT,
  MEASURE_DEFAULTS,
  PRESETS,
  parseInputSetting,
  resolveStudyConfig,
  type StudyConfig,
  type StudyConfigInput,
  type StudySuite,
  type StudyPrecision,
  type StudyBackend,
} from './config.js';
export { runStudy, planColumns, evaluateTop1, relateToBase, type RunStudyOptions, type StudyProgress, type StudyColumn } from './runner.js';
export { summarize, percentile, speedup, improvementFactor, throughputFromLatency, argmaxRows } from './stats.js';
export {
  STUDY_SCHEMA,
  readResults,
  validateResults,
  type StudyResults,
  type StudyCell,
  type StudyEnvironment,
  type CellStatus,
  type CellError,
  type AccuracyResult,
} from './results.js';
export { collectEnvironment } from './environment.js';
export { measureLatency, measureThroughput, measureInfer, cellStats, minSamplesFor, type MeasureSettings, type CellStats, type LatencyRun, type ThroughputRun } from './measure.js';
export { compareResults, comparisonSummary, parseThreshold, type Comparison, type CompareRow, type CompareOptions } from './compare.js';
export { README_CLAIMS, markContradictions, type ReadmeClaim } from './claims.js';
export { writeReports, type WrittenReport } from './report/write.js';
export { toCsv } from './report/csv.js';
export { toMarkdown } from './report/markdown.js';
export { toHtml } from './report/html.js';
export { renderCharts, chartSpec, renderSvg, type ChartFile, type ChartMetric } from './report/charts.js';
export { createProgressReporter, progressLine } from './progress.js';
