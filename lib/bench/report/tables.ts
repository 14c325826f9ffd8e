/** The study's tables as plain data (rows: batch size; columns: model x precision), shared by the Markdown and HTML writers. */
import type { StudyCell, StudyResults } from '../results.js';

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

export interface InputSection {
  input: string;
  inputShape: [number, number, number];
  models: string[];
  columns: string[];
  metricTables: Table[];
  accuracyTable?: Table;
  buildTable: Table;
}

interface Metric {
  title: string;
  value: (c: StudyCell) => string | undefined;
}

const fixed = (digits: number) => (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : undefined);
const ms = fixed(2);
const ratio = fixed(2);
const mib = (bytes: number | undefined) => (typeof bytes === 'number' ? (bytes / 2 ** 20).toFixed(2) : '');

export const METRICS: Metric[] = [
  { title: 'Latency per batch, median (ms)', value: (c) => ms(c.latencyMs?.median) },
  { title: 'Latency per batch, p90 / p99 (ms)', value: (c) => (c.latencyMs ? `${ms(c.latencyMs.p90)} / ${ms(c.latencyMs.p99)}` : undefined) },
  { title: 'Throughput (images/s)', value: (c) => fixed(1)(c.throughput) },
  { title: 'Speedup (Eq. 19: latency_base / latency_q)', value: (c) => ratio(c.speedup) },
  { title: 'Improvement factor (Eq. 20: throughput_q / throughput_base)', value: (c) => ratio(c.improvementFactor) },
];

/** Distinct values in first-seen order. */
export function ordered<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

function cellText(c: StudyCell | undefined, metric: Metric): string {
  if (!c) return '';
  if (c.status !== 'ok') return c.status === 'unavailable' ? 'n/a' : 'failed';
  return metric.value(c) ?? '-';
}

export function percent(top1: number): string {
  return (top1 * 100).toFixed(2);
}

export function buildSections(results: StudyResults): InputSection[] {
  const sections: InputSection[] = [];
  for (const input of ordered(results.cells.map((c) => c.input))) {
    const cells = results.cells.filter((c) => c.input === input);
    const models = ordered(cells.map((c) => c.model));
    const columns = ordered(cells.map((c) => c.column));
    const batchSizes = ordered(cells.map((c) => c.batchSize)).sort((a, b) => a - b);
    const find = (model: string, column: string, batchSize: number) => cells.find((c) => c.model === model && c.column === column && c.batchSize === batchSize);
    const pairs = models.flatMap((m) => columns.map((col) => [m, col] as const)).filter(([m, col]) => cells.some((c) => c.model === m && c.column === col));
    const metricTables = METRICS.map((metric) => ({
      title: metric.title,
      header: ['batch', ...pairs.map(([m, col]) => `${m} ${col}`)],
      rows: batchSizes.map((bs) => [String(bs), ...pairs.map(([m, col]) => cellText(find(m, col, bs), metric))]),
    }));
    const firstOf = (model: string, column: string) => cells.find((c) => c.model === model && c.column === column);
    const section: InputSection = {
      input,
      inputShape: cells[0]!.inputShape,
      models,
      columns,
      metricTables,
      buildTable: {
        title: 'Build and size',
        header: ['model', 'precision', 'status', 'build (s)', 'model (MiB)', 'engine (MiB)', 'peak RSS (MiB)', 'path'],
        rows: pairs.map(([m, col]) => {
          const c = firstOf(m, col)!;
          const ok = cells.filter((x) => x.model === m && x.column === col && x.status === 'ok').length;
          const status = ok === batchSizes.length ? 'ok' : ok > 0 ? `${ok}/${batchSizes.length} ok` : c.status;
          return [m, col, status, c.buildMs !== undefined ? (c.buildMs / 1000).toFixed(2) : '', mib(c.modelBytes), mib(c.engineBytes), mib(c.peakRssBytes), c.path ?? ''];
        }),
      },
    };
    if (cells.some((c) => c.accuracy || c.accuracyError)) {
      section.accuracyTable = {
        title: `Top-1 accuracy (%)${cells.find((c) => c.accuracy)?.accuracy ? ` on ${cells.find((c) => c.accuracy)!.accuracy!.dataset}` : ''}`,
        header: ['model', ...columns],
        rows: models.map((m) => [
          m,
          ...columns.map((col) => {
            const c = firstOf(m, col);
            if (!c) return '';
            if (c.accuracy) return percent(c.accuracy.top1);
            if (c.accuracyError || c.status === 'failed') return 'failed';
            return c.status === 'unavailable' ? 'n/a' : '';
          }),
        ]),
      };
    }
    sections.push(section);
  }
  return sections;
}

/** Cells that did not run, one line per model x column with the reason. */
export function unrunnable(results: StudyResults): { input: string; model: string; column: string; batchSizes: number[]; status: string; code: string; message: string }[] {
  const out: ReturnType<typeof unrunnable> = [];
  for (const c of results.cells) {
    if (c.status === 'ok' || !c.error) continue;
    const prev = out.find((o) => o.input === c.input && o.model === c.model && o.column === c.column && o.code === c.error!.code && o.message === c.error!.message);
    if (prev) prev.batchSizes.push(c.batchSize);
    else out.push({ input: c.input, model: c.model, column: c.column, batchSizes: [c.batchSize], status: c.status, code: c.error.code, message: c.error.message });
  }
  return out;
}

export function environmentLines(results: StudyResults): string[] {
  const e = results.environment;
  const v = e.versions;
  const backends = Object.entries(e.backends ?? {}).map(([name, b]) => `${name}: ${b.available ? 'available' : `unavailable (${b.reason ?? 'no reason given'})`}`);
  return [
    `CPU: ${e.cpu.model}, ${e.cpu.cores} cores; memory ${(e.memoryBytes / 2 ** 30).toFixed(1)} GiB; load average at start ${e.loadAverage?.join(' / ') ?? 'unknown'}`,
    `OS: ${e.os}; Node ${e.node}`,
    ...(e.gpu ? [`GPU: ${e.gpu.model ?? 'unknown'}${e.gpu.driver ? `, driver ${e.gpu.driver}` : ''}`] : ['GPU: none reported']),
    `Versions: tensorrt-node ${v['tensorrt-node'] ?? '?'}, onnxruntime-node ${v['onnxruntime-node'] ?? '?'}${v.tensorrt ? `, TensorRT ${v.tensorrt}` : ''}`,
    `Backends: ${backends.join('; ') || 'none registered'}`,
    `Run: ${results.createdAt}, ${(results.durationMs / 1000).toFixed(1)} s; warm-up ${results.config.warmup}, iterations ${results.config.iterations}; batch sizes ${results.config.batchSizes.join(', ')}`,
  ];
}
