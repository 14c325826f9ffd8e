/** results.csv: one row per cell, flat columns (RFC 4180 quoting). */
import type { StudyCell, StudyResults } from '../results.js';

const COLUMNS: [string, (c: StudyCell) => string | number | null | undefined][] = [
  ['input', (c) => c.input],
  ['input_shape', (c) => c.inputShape.join('x')],
  ['model', (c) => c.model],
  ['model_source', (c) => c.modelSource],
  ['column', (c) => c.column],
  ['precision', (c) => c.precision],
  ['backend', (c) => c.backend],
  ['batch_size', (c) => c.batchSize],
  ['status', (c) => c.status],
  ['latency_median_ms', (c) => c.latencyMs?.median],
  ['latency_noise', (c) => c.latencyMs?.noise],
  ['latency_cv', (c) => c.latencyMs?.cv],
  ['latency_n', (c) => c.latencyMs?.n],
  ['latency_p90_ms', (c) => c.latencyMs?.p90],
  ['latency_p99_ms', (c) => c.latencyMs?.p99],
  ['latency_mean_ms', (c) => c.latencyMs?.mean],
  ['latency_min_ms', (c) => c.latencyMs?.min],
  ['latency_max_ms', (c) => c.latencyMs?.max],
  ['unstable', (c) => (c.unstable === undefined ? undefined : String(c.unstable))],
  ['attempts', (c) => c.attempts],
  ['wall_median_ms', (c) => c.wallMs?.median],
  ['gpu_median_ms', (c) => c.gpuMs?.median],
  ['h2d_median_ms', (c) => c.h2dMs?.median],
  ['d2h_median_ms', (c) => c.d2hMs?.median],
  ['throughput_ips', (c) => c.throughput],
  ['throughput_noise', (c) => c.throughputNoise],
  ['streams', (c) => c.streams],
  ['speedup', (c) => c.speedup],
  ['improvement_factor', (c) => c.improvementFactor],
  ['infer_median_ms', (c) => c.inferMs?.median],
  ['engine_overhead_ms', (c) => c.overheadMs],
  ['engine_overhead_ratio', (c) => c.overheadRatio],
  ['load_before', (c) => c.loadBefore],
  ['load_after', (c) => c.loadAfter],
  ['contradicts', (c) => c.contradicts?.join('; ')],
  ['top1', (c) => c.accuracy?.top1],
  ['accuracy_dataset', (c) => c.accuracy?.dataset],
  ['build_ms', (c) => c.buildMs],
  ['model_bytes', (c) => c.modelBytes],
  ['engine_bytes', (c) => c.engineBytes],
  ['peak_rss_bytes', (c) => c.peakRssBytes],
  ['gpu_memory_bytes', (c) => c.gpuMemoryBytes],
  ['timer', (c) => c.timer],
  ['path', (c) => c.path],
  ['error_code', (c) => c.error?.code ?? c.accuracyError?.code ?? c.throughputError?.code],
  ['error_message', (c) => c.error?.message ?? c.accuracyError?.message ?? c.throughputError?.message],
];

export const CSV_HEADER = COLUMNS.map(([name]) => name);

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(results: StudyResults): string {
  const lines = [CSV_HEADER.join(',')];
  for (const cell of results.cells) lines.push(COLUMNS.map(([, get]) => csvField(get(cell))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
