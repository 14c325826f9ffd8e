/**
 * How one study cell is measured, the way trtexec and MLPerf measure: a time-based warm-up, then a timed run of at
 * least `durationMs` and `iterations` queries, split into segments whose medians show how far the median itself
 * moves (the cell's stated noise). Latency comes from a single-stream run (one query in flight, the backend's own
 * timer); throughput from its own run with several queries in flight (MLPerf's Offline scenario).
 */
import { syntheticFeed } from '../engine/feeds.js';
import { loadavg } from 'node:os';
import { TrtnError, isTrtnError } from '../errors.js';
import { summarize } from '../engine/stats.js';
import type { BenchmarkRow, Engine, Feeds, LatencyStats, TensorData } from '../engine/types.js';
import type { StudyConfig } from './config.js';

/** The measurement fields of a study config (documented there). */
export type MeasureSettings = Pick<StudyConfig, 'warmupMs' | 'durationMs' | 'iterations' | 'maxCv' | 'remeasures' | 'streams'>;

/** Timed runs are split into this many segments: their medians give the noise of the cell's median. */
export const SEGMENTS = 5;

/** Summary of a cell's samples; a percentile is given only when the sample has at least one value above it. */
export interface CellStats {
  /** Samples (queries) timed. */
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  /** Present when n >= 10. */
  p90?: number;
  /** Present when n >= 100. */
  p99?: number;
  /** Coefficient of variation of the samples (stdev / mean); the segments' spread when samples are not kept. */
  cv: number;
  /** (largest - smallest segment median) / median: how far the median moved within this measurement. */
  noise: number;
}

/** Smallest sample for which the q-th percentile has at least one sample above it: p90 needs 10, p99 needs 100. */
export function minSamplesFor(q: number): number {
  return Math.ceil(1 / (1 - q / 100) - 1e-9);
}

function relativeSpread(values: readonly number[], center: number): number {
  return values.length > 1 && center > 0 ? (Math.max(...values) - Math.min(...values)) / center : 0;
}

/** CellStats of the samples (when every segment kept them) or of the segments' own summaries. */
export function cellStats(segments: readonly { stats: LatencyStats; samples?: readonly number[]; n: number }[]): CellStats {
  if (segments.length === 0) throw new TrtnError('ERR_INVALID_ARG', 'cellStats of no segments');
  const medians = segments.map((s) => s.stats.median);
  const n = segments.reduce((a, s) => a + s.n, 0);
  if (segments.every((s) => s.samples && s.samples.length > 0)) {
    const all = segments.flatMap((s) => [...s.samples!]);
    const st = summarize(all);
    const sd = Math.sqrt(all.reduce((a, x) => a + (x - st.mean) ** 2, 0) / Math.max(1, all.length - 1));
    const out: CellStats = { n: all.length, mean: st.mean, median: st.median, min: st.min, max: st.max, cv: st.mean > 0 ? sd / st.mean : 0, noise: relativeSpread(medians, st.median) };
    if (all.length >= minSamplesFor(90)) out.p90 = st.p90;
    if (all.length >= minSamplesFor(99)) out.p99 = st.p99;
    return out;
  }
  // Percentiles of separate runs cannot be merged: the median of the segment medians, no p90/p99.
  const median = summarize(medians).median;
  const mean = segments.reduce((a, s) => a + s.stats.mean * s.n, 0) / n;
  const spread = relativeSpread(medians, median);
  return { n, mean, median, min: Math.min(...segments.map((s) => s.stats.min)), max: Math.max(...segments.map((s) => s.stats.max)), cv: spread, noise: spread };
}

/** A deterministic input of the engine's input shapes at `batch` (values in [-1.5, 1.5]; speed only). */
export function syntheticFeeds(engine: Engine, batch: number): Feeds {
  const feeds: Feeds = {};
  for (const info of engine.inputs) feeds[info.name] = syntheticFeed({ ...info, shape: info.shape.map((d, i) => (i === 0 ? -1 : d)) }, batch);
  return feeds;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new TrtnError('ERR_ABORTED', 'measurement aborted');
}

async function benchOnce(engine: Engine, batch: number, iterations: number, signal?: AbortSignal): Promise<BenchmarkRow> {
  const r = await engine.benchmark({ batchSizes: [batch], warmup: 0, warmupMs: 0, durationMs: 0, iterations, ...(signal ? { signal } : {}) });
  const row = r.rows.find((x) => x.batchSize === batch);
  if (!row) throw new TrtnError('ERR_INFERENCE', `benchmark returned no row for batch ${batch}`);
  return row;
}

/** What the latency run keeps besides the latency: the backend's other timers, from the middle segment. */
export interface LatencyRun {
  latency: CellStats;
  /** Measurements made: 1, or more when the first was unstable. */
  attempts: number;
  unstable: boolean;
  timer: 'cuda-event' | 'host';
  wallMs: LatencyStats;
  gpuMs?: LatencyStats;
  h2dMs?: LatencyStats;
  d2hMs?: LatencyStats;
  /** Throughput the backend measured itself in this run (TensorRT: queries x batch / host wall time). */
  backendThroughput: number;
}

/** Time-based warm-up: runs of doubling length until `warmupMs` passed; returns the last per-query estimate (ms). */
async function warmUp(engine: Engine, batch: number, settings: MeasureSettings, signal?: AbortSignal): Promise<number> {
  const start = performance.now();
  let k = 1;
  let estimate = Number.NaN;
  do {
    checkAbort(signal);
    const t0 = performance.now();
    await benchOnce(engine, batch, k, signal);
    estimate = (performance.now() - t0) / k;
    k *= 2;
  } while (performance.now() - start < settings.warmupMs);
  return estimate;
}

/** One timed latency segment: enough queries for about `segmentMs` at the last wall time per query, at least `minPer`. */
async function latencySegment(engine: Engine, batch: number, segmentMs: number, minPer: number, wallPerQuery: number, signal?: AbortSignal) {
  checkAbort(signal);
  const per = Math.max(minPer, Math.min(1_000_000, Math.round(segmentMs / Math.max(wallPerQuery, 1e-3))));
  const t0 = performance.now();
  const r = await engine.benchmark({ batchSizes: [batch], warmup: 0, warmupMs: 0, durationMs: 0, iterations: per, ...(signal ? { signal } : {}) });
  const row = r.rows.find((x) => x.batchSize === batch);
  if (!row) throw new TrtnError('ERR_INFERENCE', `benchmark returned no row for batch ${batch}`);
  return { row, timer: r.timer, wallPerQuery: Math.max((performance.now() - t0) / per, 1e-3) };
}

/** The latency of a cell from its segments' rows (contiguous, or spread over interleaved rounds). */
function latencyOf(rows: readonly BenchmarkRow[]) {
  const latency = cellStats(rows.map((r) => ({ stats: r.latencyMs, n: r.iterations, ...(r.latencySamplesMs ? { samples: r.latencySamplesMs } : {}) })));
  const middle = [...rows].sort((a, b) => a.latencyMs.median - b.latencyMs.median)[rows.length >> 1]!;
  return { latency, middle, backendThroughput: summarize(rows.map((r) => r.throughput)).median };
}

async function latencyAttempt(engine: Engine, batch: number, settings: MeasureSettings, perQueryMs: number, signal?: AbortSignal) {
  const segmentMs = settings.durationMs / SEGMENTS;
  const minPer = Math.max(1, Math.ceil(settings.iterations / SEGMENTS));
  // Each segment sizes itself from the wall time per query of the one before (a median would undercount a loaded
  // machine's tail, and the run would overshoot its duration).
  let wallPerQuery = Math.max(perQueryMs, 1e-3);
  const rows: BenchmarkRow[] = [];
  let timer: 'cuda-event' | 'host' = 'host';
  for (let s = 0; s < SEGMENTS; s++) {
    const seg = await latencySegment(engine, batch, segmentMs, minPer, wallPerQuery, signal);
    wallPerQuery = seg.wallPerQuery;
    timer = seg.timer;
    rows.push(seg.row);
  }
  return { ...latencyOf(rows), timer, wallPerQuery };
}

/** The LatencyRun of the attempt kept (the one with the lowest CV). */
function latencyRun(best: ReturnType<typeof latencyOf> & { timer: 'cuda-event' | 'host' }, attempts: number, settings: MeasureSettings): LatencyRun {
  const m = best.middle;
  return {
    latency: best.latency,
    attempts,
    unstable: best.latency.cv > settings.maxCv,
    timer: best.timer,
    wallMs: m.wallMs,
    ...(m.gpuMs ? { gpuMs: m.gpuMs } : {}),
    ...(m.h2dMs ? { h2dMs: m.h2dMs } : {}),
    ...(m.d2hMs ? { d2hMs: m.d2hMs } : {}),
    backendThroughput: best.backendThroughput,
  };
}

/** The single-stream latency run of one cell, re-measured while its CV exceeds settings.maxCv. */
export async function measureLatency(engine: Engine, batch: number, settings: MeasureSettings, signal?: AbortSignal): Promise<LatencyRun> {
  const perQueryMs = await warmUp(engine, batch, settings, signal);
  let best = await latencyAttempt(engine, batch, settings, perQueryMs, signal);
  let attempts = 1;
  while (best.latency.cv > settings.maxCv && attempts <= settings.remeasures) {
    attempts++;
    const again = await latencyAttempt(engine, batch, settings, best.wallPerQuery, signal);
    if (again.latency.cv < best.latency.cv) best = again;
  }
  return latencyRun(best, attempts, settings);
}

/**
 * engine.infer timed on the calling thread, one query in flight, for at least `durationMs` / `iterations`: what a
 * user of the Engine waits, to set against the runtime's own timer (the engine-overhead column).
 */
export async function measureInfer(engine: Engine, batch: number, durationMs: number, iterations: number, signal?: AbortSignal): Promise<CellStats> {
  const feeds = syntheticFeeds(engine, batch);
  await engine.infer(feeds);
  const segments: InferSegment[] = [];
  for (let s = 0; s < SEGMENTS; s++) segments.push(await inferSegment(engine, feeds, durationMs / SEGMENTS, Math.ceil(iterations / SEGMENTS), signal));
  return cellStats(segments);
}

interface InferSegment { stats: LatencyStats; samples: number[]; n: number }

/** engine.infer back to back for `ms` and at least `minQueries` calls, each timed on the calling thread. */
async function inferSegment(engine: Engine, feeds: Feeds, ms: number, minQueries: number, signal?: AbortSignal): Promise<InferSegment> {
  const times: number[] = [];
  const end = performance.now() + ms;
  while (times.length < minQueries || performance.now() < end) {
    checkAbort(signal);
    const t0 = performance.now();
    await engine.infer(feeds);
    times.push(performance.now() - t0);
  }
  return { stats: summarize(times), samples: times, n: times.length };
}

export interface ThroughputRun {
  /** Images per second: median over the segments of completed queries x batch / host wall time. */
  throughput: number;
  /** (largest - smallest segment throughput) / throughput. */
  noise: number;
  /** Queries completed in the timed segments. */
  queries: number;
  streams: number;
}

/**
 * The throughput run: `settings.streams` queries always in flight over `engines` (stream i uses engines[i %
 * engines.length]), a warm-up of warmupMs, then SEGMENTS windows of durationMs / SEGMENTS each, every window
 * running until its time is up and at least iterations / SEGMENTS queries completed; a window's throughput is its
 * completed queries x batch over the host wall time from its start to its last completion.
 */
export async function measureThroughput(engines: readonly Engine[], batch: number, settings: MeasureSettings, signal?: AbortSignal): Promise<ThroughputRun> {
  if (engines.length === 0) throw new TrtnError('ERR_INVALID_ARG', 'measureThroughput needs at least one engine');
  const feeds = engines.map((e) => syntheticFeeds(e, batch));
  const streams = Math.max(1, settings.streams);
  await throughputWindow(engines, feeds, streams, settings.warmupMs, streams, signal);
  const rates: number[] = [];
  let queries = 0;
  for (let s = 0; s < SEGMENTS; s++) {
    const w = await throughputWindow(engines, feeds, streams, settings.durationMs / SEGMENTS, Math.ceil(settings.iterations / SEGMENTS), signal);
    rates.push((w.done * batch * 1000) / w.wallMs);
    queries += w.done;
  }
  return throughputRun(rates, queries, streams);
}

function throughputRun(rates: readonly number[], queries: number, streams: number): ThroughputRun {
  const throughput = summarize([...rates]).median;
  return { throughput, noise: relativeSpread(rates, throughput), queries, streams };
}

/** `streams` queries always in flight over `engines` until `ms` passed and at least `minQueries` completed. */
async function throughputWindow(engines: readonly Engine[], feeds: readonly Feeds[], streams: number, ms: number, minQueries: number, signal?: AbortSignal) {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  const stream = async (i: number) => {
    const e = i % engines.length;
    while (performance.now() < end || done < minQueries) {
      checkAbort(signal);
      await engines[e]!.infer(feeds[e]!);
      done++;
    }
  };
  await Promise.all(Array.from({ length: streams }, (_, i) => stream(i)));
  return { done, wallMs: performance.now() - start };
}

/**
 * One cell measured in SEGMENTS rounds that the study interleaves with the other cells of the same model (every
 * precision and batch size takes its turn in each round), so that each cell's segments spread over the whole window
 * in which the model is measured: the noise a cell states then covers the machine's drift over minutes, which is
 * what a second run of the study meets, and cells that are compared (INT8 against FP32 at one batch size) are
 * measured under the same conditions. Each round warms the engine up (warmupMs), then times one latency segment
 * (durationMs / SEGMENTS), one segment of engine.infer (inferMs / SEGMENTS, the overhead column) and, unless
 * `latencyOnly`, one throughput window after its own warm-up.
 */
export class RoundMeter {
  readonly #rows: BenchmarkRow[] = [];
  readonly #infer: InferSegment[] = [];
  readonly #rates: number[] = [];
  #queries = 0;
  #timer: 'cuda-event' | 'host' = 'host';
  #wallPerQuery = Number.NaN;
  #feeds: Feeds | undefined;
  #streamFeeds: Feeds[] | undefined;
  /** Set when a throughput window failed: the cell keeps its latency and reports this. */
  throughputError: unknown;

  constructor(
    readonly engine: Engine,
    readonly streamEngines: readonly Engine[],
    readonly batch: number,
    readonly settings: MeasureSettings,
    readonly options: { inferMs?: number; latencyOnly?: boolean; signal?: AbortSignal } = {},
  ) {}

  async round(): Promise<void> {
    const { engine, batch, settings } = this;
    const signal = this.options.signal;
    const estimate = await warmUp(engine, batch, settings, signal);
    const seg = await latencySegment(engine, batch, settings.durationMs / SEGMENTS, Math.max(1, Math.ceil(settings.iterations / SEGMENTS)), Number.isNaN(this.#wallPerQuery) ? estimate : this.#wallPerQuery, signal);
    this.#rows.push(seg.row);
    this.#timer = seg.timer;
    this.#wallPerQuery = seg.wallPerQuery;
    if (this.options.latencyOnly) return;
    this.#feeds ??= syntheticFeeds(engine, batch);
    this.#infer.push(await inferSegment(engine, this.#feeds, (this.options.inferMs ?? settings.durationMs / 3) / SEGMENTS, Math.ceil(settings.iterations / SEGMENTS), signal));
    if (this.throughputError !== undefined || this.streamEngines.length === 0) return;
    try {
      this.#streamFeeds ??= this.streamEngines.map((e) => syntheticFeeds(e, batch));
      const streams = Math.max(1, settings.streams);
      await throughputWindow(this.streamEngines, this.#streamFeeds, streams, settings.warmupMs, streams, signal);
      const w = await throughputWindow(this.streamEngines, this.#streamFeeds, streams, settings.durationMs / SEGMENTS, Math.ceil(settings.iterations / SEGMENTS), signal);
      this.#rates.push((w.done * batch * 1000) / w.wallMs);
      this.#queries += w.done;
    } catch (err) {
      if (isTrtnError(err, 'ERR_ABORTED') || signal?.aborted) throw err;
      this.throughputError = err;
    }
  }

  /** The latency as the rounds so far give it (a LatencyRun of one attempt, or `attempts` when re-measured). */
  latency(attempts = 1): LatencyRun {
    if (this.#rows.length === 0) throw new TrtnError('ERR_INVALID_ARG', 'RoundMeter.latency before any round');
    return latencyRun({ ...latencyOf(this.#rows), timer: this.#timer }, attempts, this.settings);
  }

  infer(): CellStats | undefined {
    return this.#infer.length > 0 ? cellStats(this.#infer) : undefined;
  }

  throughput(): ThroughputRun | undefined {
    return this.#rates.length > 0 ? throughputRun(this.#rates, this.#queries, Math.max(1, this.settings.streams)) : undefined;
  }
}

/** 1-minute load average, rounded: recorded before and after each cell. */
export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
