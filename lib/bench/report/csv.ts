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
  ['latency_p90_ms', (c) => c.latencyMs?.p90],
  ['latency_p99_ms', (c) => c.latencyMs?.p99],
  ['latency_mean_ms', (c) => c.latencyMs?.mean],
  ['latency_min_ms', (c) => c.latencyMs?.min],
  ['latency_max_ms', (c) => c.latencyMs?.max],
  ['wall_median_ms', (c) => c.wallMs?.median],
  ['gpu_median_ms', (c) => c.gpuMs?.median],
  ['throughput_ips', (c) => c.throughput],
  ['speedup', (c) => c.speedup],
  ['improvement_factor', (c) => c.improvementFactor],
  ['top1', (c) => c.accuracy?.top1],
  ['accuracy_dataset', (c) => c.accuracy?.dataset],
  ['build_ms', (c) => c.buildMs],
  ['model_bytes', (c) => c.modelBytes],
  ['engine_bytes', (c) => c.engineBytes],
  ['peak_rss_bytes', (c) => c.peakRssBytes],
  ['gpu_memory_bytes', (c) => c.gpuMemoryBytes],
  ['timer', (c) => c.timer],
  ['warmup', (c) => c.warmup],
  ['iterations', (c) => c.iterations],
  ['path', (c) => c.path],
  ['error_code', (c) => c.error?.code ?? c.accuracyError?.code],
  ['error_message', (c) => c.error?.message ?? c.accuracyError?.message],
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
