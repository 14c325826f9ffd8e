/**
 * Comparing two study runs (two machines, two versions, or a service's latency guarded in CI): the ratio of every
 * matching cell's median latency and throughput, flagged where the change exceeds the cells' own noise, and
 * counted as a regression where it also exceeds a threshold.
 */
import { TrtnError } from '../errors.js';
import type { StudyCell, StudyResults } from './results.js';
import { formatMs, formatPct } from './report/tables.js';

export interface CompareOptions {
  /** A slowdown beyond the noise and beyond this fraction (0.1 = 10%) is a regression; default 0.1. */
  threshold?: number;
  /** Names of the two runs in the output; default 'a' and 'b'. */
  names?: [string, string];
}

export type Change = 'within noise' | 'faster' | 'slower';

export interface CompareRow {
  input: string;
  model: string;
  column: string;
  batchSize: number;
  metric: 'latency' | 'throughput';
  a: number;
  b: number;
  /** b / a. */
  ratio: number;
  /** The larger of the two cells' relative noise: a change within it is not a change. */
  noise: number;
  change: Change;
  /** Slower beyond the noise and beyond the threshold. */
  regression: boolean;
}

export interface Comparison {
  names: [string, string];
  threshold: number;
  rows: CompareRow[];
  withinNoise: number;
  beyondNoise: number;
  regressions: number;
  /** Cells measured in one run only ('input model column @batch'). */
  unmatched: string[];
}

const key = (c: StudyCell) => `${c.input} ${c.model} ${c.column} @${c.batchSize}`;

export function parseThreshold(value: unknown): number {
  const text = String(value).trim();
  const m = /^([0-9]*\.?[0-9]+)(%?)$/.exec(text);
  const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  if (!(n >= 0 && Number.isFinite(n))) throw new TrtnError('ERR_INVALID_ARG', `Expected a threshold such as 0.1 or 10% for --threshold but received ${JSON.stringify(value)}`);
  return n;
}

export function compareResults(a: StudyResults, b: StudyResults, options: CompareOptions = {}): Comparison {
  const threshold = options.threshold ?? 0.1;
  if (!(typeof threshold === 'number' && threshold >= 0 && Number.isFinite(threshold))) {
    throw new TrtnError('ERR_INVALID_ARG', `Expected a non-negative number for threshold but received ${String(threshold)}`);
  }
  const measured = (r: StudyResults) => new Map(r.cells.filter((c) => c.status === 'ok' && c.latencyMs).map((c) => [key(c), c]));
  const ma = measured(a);
  const mb = measured(b);
  const rows: CompareRow[] = [];
  const unmatched = [...[...ma.keys()].filter((k) => !mb.has(k)), ...[...mb.keys()].filter((k) => !ma.has(k))];
  for (const [k, ca] of ma) {
    const cb = mb.get(k);
    if (!cb) continue;
    const base = { input: ca.input, model: ca.model, column: ca.column, batchSize: ca.batchSize };
    const add = (metric: CompareRow['metric'], va: number, vb: number, noise: number) => {
      const ratio = vb / va;
      // Latency up or throughput down is slower.
      const worse = metric === 'latency' ? ratio - 1 : 1 - ratio;
      const change: Change = Math.abs(ratio - 1) <= noise ? 'within noise' : worse > 0 ? 'slower' : 'faster';
      rows.push({ ...base, metric, a: va, b: vb, ratio, noise, change, regression: change === 'slower' && worse > threshold });
    };
    add('latency', ca.latencyMs!.median, cb.latencyMs!.median, Math.max(ca.latencyMs!.noise ?? 0, cb.latencyMs!.noise ?? 0));
    if (ca.throughput !== undefined && cb.throughput !== undefined) add('throughput', ca.throughput, cb.throughput, Math.max(ca.throughputNoise ?? 0, cb.throughputNoise ?? 0));
  }
  const within = rows.filter((r) => r.change === 'within noise').length;
  return { names: options.names ?? ['a', 'b'], threshold, rows, withinNoise: within, beyondNoise: rows.length - within, regressions: rows.filter((r) => r.regression).length, unmatched };
}

/** One line for a terminal or a CI log. */
export function comparisonSummary(c: Comparison): string {
  const byMetric = (m: CompareRow['metric']) => {
    const rows = c.rows.filter((r) => r.metric === m);
    return `${m}: ${rows.filter((r) => r.change === 'within noise').length}/${rows.length} within noise`;
  };
  return `${c.names[1]} vs ${c.names[0]}: ${byMetric('latency')}, ${byMetric('throughput')}; ${c.regressions} regression(s) beyond ${formatPct(c.threshold)}${c.unmatched.length ? `; ${c.unmatched.length} cell(s) in one run only` : ''}`;
}

/** The comparison as a table: header and rows of text (the Markdown and HTML writers share it). */
export function comparisonTable(c: Comparison): { header: string[]; rows: string[][]; marks: string[][][] } {
  const header = ['input', 'model', 'precision', 'batch', 'metric', c.names[0], c.names[1], 'ratio', 'noise', 'change'];
  const fmt = (r: CompareRow, v: number) => (r.metric === 'latency' ? `${formatMs(v)} ms` : `${Math.round(v).toLocaleString('en-US')}/s`);
  const rows = c.rows.map((r) => [r.input, r.model, r.column, String(r.batchSize), r.metric, fmt(r, r.a), fmt(r, r.b), `${r.ratio.toFixed(3)}x`, `±${formatPct(r.noise)}`, r.regression ? `${r.change} (REGRESSION)` : r.change]);
  // The report's colours: amber for a change beyond noise, red for a regression.
  const marks = c.rows.map((r) => header.map((_, i) => (i === header.length - 1 && r.change !== 'within noise' ? [r.regression ? 'contradicts' : 'unstable'] : [])));
  return { header, rows, marks };
}
