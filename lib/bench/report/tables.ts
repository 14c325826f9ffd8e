/**
 * The study's tables as plain data, shared by the Markdown and HTML writers: per input setting one table per model
 * (rows: batch size; columns: precisions), each cell a few lines of text, plus accuracy and build tables.
 */
import type { StudyCell, StudyResults } from '../results.js';
import { isGeneratorName } from '../models.js';

export interface Table {
  title: string;
  header: string[];
  /** Cell text; '\n' separates the lines of a multi-line cell. */
  rows: string[][];
  /** Marks per cell (same shape as rows): 'unstable', 'contradicts', 'failed', 'na'. */
  marks?: string[][][];
}

export interface ModelTable extends Table {
  model: string;
}

export interface InputSection {
  input: string;
  inputShape: [number, number, number];
  /** What the section's figures can say, e.g. 'synthetic data, random weights: speed only'. */
  label?: string;
  models: string[];
  columns: string[];
  modelTables: ModelTable[];
  accuracyTable?: Table;
  buildTable: Table;
}

const fixed = (digits: number) => (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : undefined);
const mib = (bytes: number | undefined) => (typeof bytes === 'number' ? (bytes / 2 ** 20).toFixed(2) : '');

/** ms with 3 significant figures, at least 2 decimals below 10 ms. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

export function formatPct(ratio: number, signed = false): string {
  const text = `${(ratio * 100).toFixed(ratio !== 0 && Math.abs(ratio) < 0.1 ? 1 : 0)}%`;
  return signed && ratio >= 0 ? `+${text}` : text;
}

const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

/** Distinct values in first-seen order. */
export function ordered<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

export function percent(top1: number): string {
  return (top1 * 100).toFixed(2);
}

/** The lines of one measured cell and its marks. */
export function cellLines(c: StudyCell, maxCv: number): { lines: string[]; marks: string[] } {
  if (c.status !== 'ok' || !c.latencyMs) return { lines: [c.status === 'unavailable' ? 'n/a' : 'failed'], marks: [c.status === 'unavailable' ? 'na' : 'failed'] };
  const l = c.latencyMs;
  const marks: string[] = [];
  const lines = [`latency ${formatMs(l.median)} ms ±${formatPct(l.noise / 2)}`];
  const pcts = [l.p90 !== undefined ? `p90 ${formatMs(l.p90)}` : '', l.p99 !== undefined ? `p99 ${formatMs(l.p99)}` : ''].filter(Boolean);
  lines.push(`CV ${formatPct(l.cv)}, n ${l.n}${pcts.length ? `; ${pcts.join(', ')}` : ''}`);
  // TensorRT: latency is H2D + compute + D2H; the parts as trtexec shows them.
  const parts = [c.gpuMs ? `compute ${formatMs(c.gpuMs.median)}` : '', c.h2dMs ? `H2D ${formatMs(c.h2dMs.median)}` : '', c.d2hMs ? `D2H ${formatMs(c.d2hMs.median)}` : ''].filter(Boolean);
  if (parts.length) lines.push(`GPU ${parts.join(', ')} ms`);
  if (c.throughput !== undefined) lines.push(`throughput ${rate(c.throughput)}/s ±${formatPct((c.throughputNoise ?? 0) / 2)}`);
  else if (c.throughputError) lines.push(`throughput failed (${c.throughputError.code})`);
  const ratios = [typeof c.speedup === 'number' ? `speedup ${fixed(2)(c.speedup)}x` : '', typeof c.improvementFactor === 'number' ? `IF ${fixed(2)(c.improvementFactor)}x` : ''].filter(Boolean);
  if (ratios.length && c.precision !== 'base') lines.push(ratios.join(', '));
  if (c.overheadMs !== undefined && c.overheadRatio !== undefined) lines.push(`engine overhead ${c.overheadMs >= 0 ? '+' : ''}${formatMs(c.overheadMs)} ms (${formatPct(c.overheadRatio, true)})`);
  if (c.loadBefore !== undefined) lines.push(`load ${c.loadBefore.toFixed(2)} -> ${c.loadAfter?.toFixed(2) ?? '?'}`);
  if (c.unstable) {
    marks.push('unstable');
    lines.push(`UNSTABLE: CV ${formatPct(l.cv)} > ${formatPct(maxCv)} after ${c.attempts ?? 1} runs`);
  }
  for (const claim of c.contradicts ?? []) {
    marks.push('contradicts');
    lines.push(`CONTRADICTS ${claim}`);
  }
  return { lines, marks };
}

/** 'synthetic data, random weights: speed only' for generated models; '... speed only' where no accuracy was asked. */
export function sectionLabel(cells: readonly StudyCell[]): string | undefined {
  const hasAccuracy = cells.some((c) => c.accuracy || c.accuracyError);
  if (hasAccuracy) return undefined;
  if (cells.every((c) => isGeneratorName(c.modelSource))) return 'synthetic data, random weights: speed only';
  return 'no labelled data: speed only';
}

export function buildSections(results: StudyResults): InputSection[] {
  const sections: InputSection[] = [];
  const maxCv = results.config.maxCv;
  for (const input of ordered(results.cells.map((c) => c.input))) {
    const cells = results.cells.filter((c) => c.input === input);
    const models = ordered(cells.map((c) => c.model));
    const columns = ordered(cells.map((c) => c.column));
    const batchSizes = ordered(cells.map((c) => c.batchSize)).sort((a, b) => a - b);
    const modelTables: ModelTable[] = models.map((model) => {
      const mine = cells.filter((c) => c.model === model);
      const cols = columns.filter((col) => mine.some((c) => c.column === col));
      const rendered = batchSizes.map((bs) => cols.map((col) => {
        const c = mine.find((x) => x.column === col && x.batchSize === bs);
        return c ? cellLines(c, maxCv) : { lines: [''], marks: [] };
      }));
      return {
        model,
        title: model,
        header: ['batch', ...cols],
        rows: rendered.map((row, i) => [String(batchSizes[i]), ...row.map((r) => r.lines.join('\n'))]),
        marks: rendered.map((row) => [[], ...row.map((r) => r.marks)]),
      };
    });
    const pairs = models.flatMap((m) => columns.map((col) => [m, col] as const)).filter(([m, col]) => cells.some((c) => c.model === m && c.column === col));
    const firstOf = (model: string, column: string) => cells.find((c) => c.model === model && c.column === column);
    const label = sectionLabel(cells);
    const section: InputSection = {
      input,
      inputShape: cells[0]!.inputShape,
      ...(label ? { label } : {}),
      models,
      columns,
      modelTables,
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
    if (!label) {
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

export interface Unrunnable {
  input: string;
  model: string;
  column: string;
  /** What did not run: the cell, or only its accuracy / throughput part. */
  what: 'cell' | 'accuracy' | 'throughput';
  batchSizes: number[];
  status: string;
  code: string;
  message: string;
}

/** Cells (and accuracy / throughput runs) that did not run, one line per model x column x reason. */
export function unrunnable(results: StudyResults): Unrunnable[] {
  const out: Unrunnable[] = [];
  const add = (c: StudyCell, what: Unrunnable['what'], status: string, e: { code: string; message: string }) => {
    const prev = out.find((o) => o.input === c.input && o.model === c.model && o.column === c.column && o.what === what && o.code === e.code && o.message === e.message);
    if (prev) prev.batchSizes.push(c.batchSize);
    else out.push({ input: c.input, model: c.model, column: c.column, what, batchSizes: [c.batchSize], status, code: e.code, message: e.message });
  };
  for (const c of results.cells) {
    if (c.status !== 'ok' && c.error) add(c, 'cell', c.status, c.error);
    if (c.accuracyError && c.status === 'ok') add(c, 'accuracy', 'failed', c.accuracyError);
    if (c.throughputError) add(c, 'throughput', 'failed', c.throughputError);
  }
  return out;
}

/** One line per unrunnable entry, e.g. 'vgg16 int8 (batch 8, 64): accuracy failed, ERR_DATA: ...'. */
export function unrunnableLine(m: Unrunnable): string {
  const part = m.what === 'cell' ? m.status : `${m.what} ${m.status}`;
  return `${m.input} ${m.model} ${m.column} (batch ${m.batchSizes.join(', ')}): ${part}, ${m.code}: ${m.message}`;
}

export function environmentLines(results: StudyResults): string[] {
  const e = results.environment;
  const v = e.versions;
  const cfg = results.config;
  const backends = Object.entries(e.backends ?? {}).map(([name, b]) => `${name}: ${b.available ? 'available' : `unavailable (${b.reason ?? 'no reason given'})`}`);
  const loads = results.cells.flatMap((c) => [c.loadBefore, c.loadAfter]).filter((x): x is number => typeof x === 'number');
  return [
    `CPU: ${e.cpu.model}, ${e.cpu.cores} cores; memory ${(e.memoryBytes / 2 ** 30).toFixed(1)} GiB; load average at start ${e.loadAverage?.join(' / ') ?? 'unknown'}${loads.length ? `; 1-minute load during the cells ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)}` : ''}`,
    `OS: ${e.os}; Node ${e.node}`,
    ...(e.gpu ? [`GPU: ${e.gpu.model ?? 'unknown'}${e.gpu.driver ? `, driver ${e.gpu.driver}` : ''}`] : ['GPU: none reported']),
    `Versions: tensorrt-node ${v['tensorrt-node'] ?? '?'}, onnxruntime-node ${v['onnxruntime-node'] ?? '?'}${v.tensorrt ? `, TensorRT ${v.tensorrt}` : ''}`,
    `Backends: ${backends.join('; ') || 'none registered'}`,
    `Run: ${results.createdAt}, ${(results.durationMs / 1000).toFixed(1)} s; batch sizes ${cfg.batchSizes.join(', ')}; warm-up ${cfg.warmupMs} ms; timed runs at least ${cfg.durationMs / 1000} s and ${cfg.iterations} queries; CV threshold ${formatPct(cfg.maxCv)} (${cfg.remeasures} re-measure); throughput streams ${cfg.streams}${cfg.threads ? `; intra-op threads ${cfg.threads}` : ''}`,
  ];
}

/** Definitions of the figures and how they were measured (both writers print these). */
export function methodLines(results: StudyResults): string[] {
  const cfg = results.config;
  return [
    '"base" is the unoptimized framework: ONNX Runtime FP32 with graph optimizations disabled. "n/a": cannot run on this machine; "failed": tried and failed (reasons at the end).',
    `Latency (single-stream run): one query in flight; per batch, the backend's own timer (ONNX Runtime: host clock around session.run in the engine's thread; TensorRT: H2D copy + GPU compute + D2H copy with CUDA events, as trtexec). At least ${cfg.durationMs / 1000} s and ${cfg.iterations} queries in all, timed in 5 rounds interleaved with the model's other cells (each round: every batch size of every precision takes one turn of a ${cfg.warmupMs} ms warm-up and a fifth of its timed run), so a cell's rounds spread over the minutes its model is measured. Shown: median ± half the spread of the round medians (the noise of the median over that window); CV = standard deviation / mean of the queries; p90 only from 10 queries, p99 only from 100. A cell whose CV exceeds ${formatPct(cfg.maxCv)} is re-measured in 5 more rounds (${cfg.remeasures}x) and, if still above, marked UNSTABLE.`,
    `Throughput (its own run, MLPerf Offline-like): ${cfg.streams} queries always in flight (ONNX Runtime: ${cfg.streams} concurrent sessions sharing the intra-op threads; TensorRT: concurrent queries on the engine's contexts), images per second = completed queries x batch / host wall time, median of 5 windows (one a round, after its own warm-up) ± half their spread.`,
    'Speedup (Eq. 19) = latency_base / latency_q, from the latency runs. Improvement factor (Eq. 20) = throughput_q / throughput_base, from the throughput runs. Both at the same model and batch size.',
    "Engine overhead = engine.infer median (caller's thread, one query in flight, includes the hand-off to the session's thread and the copies) minus the runtime's own median latency.",
    'load a -> b: the 1-minute load average at the start and end of the rounds of the cell\'s model (this machine may be shared). CONTRADICTS marks a cell whose figures contradict a claim of the README beyond their noise.',
  ];
}
