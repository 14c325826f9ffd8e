/**
 * The matrix runner: for each input setting and model, build one engine per precision and measure its top-1
 * accuracy when labelled data is given, then benchmark every precision at every batch size in interleaved rounds
 * (measureInterleaved), and relate each cell to the unoptimized base (Eq. 19 speedup, Eq. 20 improvement factor).
 * Cells that cannot run are kept with their reason.
 */
import { TrtnError, isTrtnError } from '../errors.js';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine, loadEngine } from '../engine/api.js';
import { resolveBackend } from '../engine/backend.js';
import type { BuildOptions } from '../engine/options.js';
import type { BackendName, Engine, Logger } from '../engine/types.js';
import type { Dataset } from '../data/types.js';
import { datasetFromSpec } from '../data/spec.js';
import { subset } from '../data/dataset.js';
import { parseInputSetting, resolveStudyConfig, type StudyConfig, type StudyConfigInput, type StudyPrecision, type StudySuite } from './config.js';
import { collectEnvironment } from './environment.js';
import { loadStudyModel, type StudyModel } from './models.js';
import { STUDY_SCHEMA, type AccuracyResult, type CellError, type CellStatus, type StudyCell, type StudyResults } from './results.js';
import { improvementFactor, speedup } from './stats.js';
import { load1, RoundMeter, SEGMENTS, type LatencyRun, type MeasureSettings } from './measure.js';
import { markContradictions } from './claims.js';
import { evaluateTop1 as evaluateAccuracy } from '../quantize/evaluate.js';

export interface StudyProgress {
  /** Cells finished (measured or reported as unrunnable). */
  done: number;
  total: number;
  /** The cell or step being worked on, e.g. '3x48x48 vgg16 int8: calibrating + building'. */
  current: string;
  elapsedMs: number;
  /** Estimated time left from the mean time per finished cell; undefined before the first cell. */
  etaMs?: number;
}

export interface RunStudyOptions {
  onProgress?: (progress: StudyProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

/** One column of the report: a precision realised on one backend. */
export interface StudyColumn {
  precision: StudyPrecision;
  backend: BackendName;
  label: string;
  /** Set when the backend cannot run here: every cell of the column carries it. */
  unavailable?: CellError;
}

/** Error codes that mean "this machine cannot run it" rather than "it broke". */
const UNAVAILABLE_CODES = new Set(['ERR_BACKEND_UNAVAILABLE', 'ERR_UNSUPPORTED', 'ERR_NO_CUDA', 'ERR_NO_CUDA_DEVICE', 'ERR_NO_TENSORRT']);

export function cellError(err: unknown): CellError {
  if (isTrtnError(err)) return { code: err.code, message: err.message };
  return { code: 'ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

function statusOf(err: unknown): CellStatus {
  return isTrtnError(err) && UNAVAILABLE_CODES.has(err.code) ? 'unavailable' : 'failed';
}

function rethrowAbort(err: unknown, signal?: AbortSignal): void {
  if (isTrtnError(err, 'ERR_ABORTED') || signal?.aborted) {
    throw isTrtnError(err, 'ERR_ABORTED') ? err : new TrtnError('ERR_ABORTED', 'study aborted', {}, { cause: err });
  }
}

async function availabilityError(backend: BackendName): Promise<CellError | undefined> {
  try {
    await resolveBackend(backend);
    return undefined;
  } catch (err) {
    return cellError(err);
  }
}

/**
 * The columns a config asks for. 'auto' runs ONNX Runtime and, where it can run, TensorRT as well; a backend
 * named explicitly that cannot run here still gets its columns, reported unavailable with the reason.
 */
export async function planColumns(config: StudyConfig, logger?: Logger): Promise<StudyColumn[]> {
  const columns: StudyColumn[] = [];
  const ortError = await availabilityError('onnxruntime');
  if (config.precisions.includes('base')) {
    columns.push({ precision: 'base', backend: 'onnxruntime', label: 'base', ...(ortError ? { unavailable: ortError } : {}) });
  }
  let targets: { backend: BackendName; error?: CellError }[];
  if (config.backend === 'auto') {
    const trtError = await availabilityError('tensorrt');
    if (trtError) logger?.('info', `tensorrt columns skipped: ${trtError.message}`);
    targets = [
      ...(ortError && !trtError ? [] : [{ backend: 'onnxruntime' as const, ...(ortError ? { error: ortError } : {}) }]),
      ...(trtError ? [] : [{ backend: 'tensorrt' as const }]),
    ];
  } else {
    const error = config.backend === 'onnxruntime' ? ortError : await availabilityError(config.backend);
    targets = [{ backend: config.backend, ...(error ? { error } : {}) }];
  }
  for (const { backend, error } of targets) {
    for (const precision of config.precisions) {
      if (precision === 'base') continue;
      const label = targets.length > 1 ? `${precision} (${backend})` : precision;
      columns.push({ precision, backend, label, ...(error ? { unavailable: error } : {}) });
    }
  }
  return columns;
}

function buildOptionsFor(column: StudyColumn, config: StudyConfig, calibration: Dataset | undefined, run: RunStudyOptions): BuildOptions {
  const session = { graphOptimization: column.precision === 'base' ? ('disabled' as const) : ('all' as const), ...(config.threads ? { intraOpThreads: config.threads } : {}) };
  const options: BuildOptions = {
    precision: column.precision === 'base' ? 'fp32' : column.precision,
    backend: column.backend,
    maxBatch: Math.max(...config.batchSizes),
    session,
    ...(run.signal ? { signal: run.signal } : {}),
    ...(run.logger ? { logger: run.logger } : {}),
  };
  if (column.precision === 'int8') {
    if (!calibration) throw new TrtnError('ERR_CALIB_DATA', 'int8 needs calibration data and none could be loaded');
    options.calib = { data: calibration, algorithm: config.calibAlgorithm, batchSize: Math.min(32, calibration.length) };
  }
  return options;
}

/** Top-1 accuracy of an engine's first output over a labelled dataset (the library's one evaluateTop1). */
export async function evaluateTop1(engine: Engine, dataset: Dataset, batchSize: number, signal?: AbortSignal): Promise<AccuracyResult> {
  if (!dataset.labels) throw new TrtnError('ERR_DATA', `accuracy data '${dataset.name}' has no labels`, { dataset: dataset.name });
  const r = await evaluateAccuracy(engine, dataset, { batchSize, ...(signal ? { signal } : {}) });
  return { dataset: dataset.name, top1: r.top1, correct: r.correct, total: r.count };
}

/** Largest host RSS seen between start() and stop(), sampled every 25 ms while the event loop turns. */
class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), 25);
    this.timer.unref();
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}

interface SuiteData {
  calibration?: Dataset;
  calibrationError?: CellError;
  accuracy?: Dataset;
  accuracyError?: CellError;
}

function checkItemShape(dataset: Dataset, shape: readonly number[], role: string, suite: StudySuite): void {
  const item = dataset.itemShape;
  if (item.length !== shape.length || item.some((d, i) => d !== shape[i])) {
    throw new TrtnError('ERR_SHAPE', `${role} data '${dataset.name}' has items [${item.join(', ')}] but input setting '${suite.input}' is [${shape.join(', ')}]`, { dataset: dataset.name });
  }
}

async function loadSuiteData(suite: StudySuite, shape: [number, number, number], config: StudyConfig): Promise<SuiteData> {
  const data: SuiteData = {};
  if (config.precisions.includes('int8')) {
    const count = suite.calibrationCount ?? 512;
    const spec = suite.calibration ?? `synthetic:${shape.join('x')},n=${count},seed=${config.seed}`;
    try {
      const full = await datasetFromSpec(spec, { split: 'train', seed: config.seed });
      checkItemShape(full, shape, 'calibration', suite);
      data.calibration = count < full.length ? subset(full, count, { seed: config.seed }) : full;
    } catch (err) {
      data.calibrationError = cellError(err);
    }
  }
  if (suite.accuracy) {
    try {
      const full = await datasetFromSpec(suite.accuracy, { split: 'test' });
      checkItemShape(full, shape, 'accuracy', suite);
      if (!full.labels) throw new TrtnError('ERR_DATA', `accuracy data '${suite.accuracy}' has no labels`, { dataset: suite.accuracy });
      data.accuracy = suite.accuracyCount && suite.accuracyCount < full.length ? subset(full, suite.accuracyCount, { seed: config.seed }) : full;
    } catch (err) {
      data.accuracyError = cellError(err);
    }
  }
  return data;
}

function measureSettings(config: StudyConfig): MeasureSettings {
  const { warmupMs, durationMs, iterations, maxCv, remeasures, streams } = config;
  return { warmupMs, durationMs, iterations, maxCv, remeasures, streams };
}

/**
 * Engines for the throughput run. ONNX Runtime: one session per stream, the intra-op threads shared out among
 * them (concurrent sessions, as MLPerf's Offline scenario on a CPU); TensorRT: the cell's engine, whose context
 * pool takes concurrent queries (trtexec's --infStreams).
 */
async function throughputEngines(engine: Engine, column: StudyColumn, config: StudyConfig, owned: Engine[]): Promise<Engine[]> {
  if (column.backend !== 'onnxruntime' || config.streams === 1) return [engine];
  const threads = Math.max(1, Math.floor((config.threads ?? availableParallelism()) / config.streams));
  const bytes = engine.serialize();
  const session = { graphOptimization: column.precision === 'base' ? ('disabled' as const) : ('all' as const), intraOpThreads: threads };
  for (let i = 0; i < config.streams; i++) owned.push(await loadEngine(bytes, { backend: 'onnxruntime', session }));
  return owned.slice(-config.streams);
}

/**
 * TensorRT with enginePerBatch: an engine whose optimization profile has opt = batchSize (kernels chosen for that
 * batch), calibrating once through a cache file; otherwise the column's engine.
 */
async function engineForBatch(
  engine: Engine, batchSize: number, column: StudyColumn, config: StudyConfig, model: Uint8Array, calibration: Dataset | undefined, run: RunStudyOptions, owned: Engine[],
): Promise<Engine> {
  const maxBatch = Math.max(...config.batchSizes);
  if (column.backend !== 'tensorrt' || !config.enginePerBatch || batchSize === maxBatch) return engine;
  const options = buildOptionsFor(column, config, calibration, run);
  options.shapes = {};
  for (const i of engine.inputs) {
    const rest = i.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    options.shapes[i.name] = { min: [1, ...rest], opt: [batchSize, ...rest], max: [maxBatch, ...rest] };
  }
  if (options.calib) options.calib.cache = join(tmpdir(), `trtn-study-${process.pid}-${engine.inputs[0]?.name ?? 'x'}-${model.byteLength}.calib`);
  const e = await buildEngine(model, options);
  owned.push(e);
  return e;
}

/** A cell being measured: its meter (rounds interleaved with the model's other cells), or its error. */
interface Pending {
  cell: StudyCell;
  where: string;
  meter?: RoundMeter;
}

/** The cell's fields from its meter: latency (with attempts), engine.infer against it (the overhead), throughput. */
function fillCell(cell: StudyCell, meter: RoundMeter, latency: LatencyRun): void {
  Object.assign(cell, { timer: latency.timer, latencyMs: latency.latency, unstable: latency.unstable, attempts: latency.attempts, wallMs: latency.wallMs });
  for (const k of ['gpuMs', 'h2dMs', 'd2hMs'] as const) if (latency[k]) cell[k] = latency[k];
  const infer = meter.infer();
  if (infer) {
    cell.inferMs = infer;
    cell.overheadMs = infer.median - latency.latency.median;
    cell.overheadRatio = cell.overheadMs / latency.latency.median;
  }
  const tp = meter.throughput();
  if (tp) Object.assign(cell, { throughput: tp.throughput, throughputNoise: tp.noise, streams: tp.streams });
  if (meter.throughputError !== undefined) cell.throughputError = cellError(meter.throughputError);
}

/**
 * Measure a model's cells in SEGMENTS interleaved rounds (see RoundMeter): in each round every batch size of every
 * column takes one turn. A cell whose CV exceeds maxCv is re-measured the same way, among the other unstable
 * cells, up to `remeasures` times, keeping the attempt with the lowest CV. A cell that fails keeps its error.
 */
async function measureInterleaved(pending: Pending[], config: StudyConfig, progress: (where: string, rounds: { started?: number; planned?: number }) => void, run: RunStudyOptions): Promise<void> {
  const { signal, logger } = run;
  const settings = measureSettings(config);
  // The cells' rounds share one window: the load is recorded at its start and at its end.
  const loadBefore = load1();
  for (const p of pending) p.cell.loadBefore = loadBefore;
  const rounds = async (items: Pending[], label: string) => {
    for (let r = 0; r < SEGMENTS; r++) {
      for (const p of items) {
        if (!p.meter) continue;
        progress(`${p.where}${label} round ${r + 1}/${SEGMENTS}`, { started: 1 });
        try {
          await p.meter.round();
        } catch (err) {
          rethrowAbort(err, signal);
          Object.assign(p.cell, { status: statusOf(err), error: cellError(err) });
          delete p.meter;
          logger?.('warning', `${p.where}: ${p.cell.error!.message}`);
        }
      }
    }
  };
  await rounds(pending, '');
  const kept = new Map<Pending, LatencyRun>();
  for (const p of pending) if (p.meter) kept.set(p, p.meter.latency());
  for (let attempt = 2; attempt <= settings.remeasures + 1; attempt++) {
    const again = pending.filter((p) => p.meter && kept.get(p)!.latency.cv > settings.maxCv);
    if (again.length === 0) break;
    progress(`${again.length} unstable cells: re-measure ${attempt - 1}`, { planned: again.length * SEGMENTS });
    const first = new Map(again.map((p) => [p, p.meter!]));
    for (const p of again) p.meter = new RoundMeter(p.meter!.engine, [], p.meter!.batch, settings, { latencyOnly: true, ...(signal ? { signal } : {}) });
    await rounds(again, ` (re-measure ${attempt - 1})`);
    for (const p of again) {
      const retry = p.meter?.latency(attempt);
      const best = kept.get(p)!;
      kept.set(p, retry && retry.latency.cv < best.latency.cv ? retry : { ...best, attempts: attempt });
      if (!p.meter) {
        // A failed re-measure keeps the first attempt.
        p.cell.status = 'ok';
        delete p.cell.error;
      }
      p.meter = first.get(p)!; // overhead and throughput stay those of the full rounds
    }
  }
  const loadAfter = load1();
  for (const p of pending) {
    const latency = kept.get(p);
    if (p.meter && latency) fillCell(p.cell, p.meter, latency);
    p.cell.loadAfter = loadAfter;
  }
}

/** Fill Eq. 19 / Eq. 20 for every measured cell from the base cell of the same input, model and batch size. */
export function relateToBase(cells: StudyCell[]): void {
  const key = (c: StudyCell) => `${c.input}\u0000${c.model}\u0000${c.batchSize}`;
  const bases = new Map<string, StudyCell>();
  for (const c of cells) if (c.precision === 'base' && c.status === 'ok') bases.set(key(c), c);
  for (const c of cells) {
    if (c.status !== 'ok') continue;
    const base = bases.get(key(c));
    c.speedup = base ? speedup(base.latencyMs!.median, c.latencyMs!.median) : null;
    // Eq. 20 from the throughput runs: its own measurement, not the latency's inverse.
    c.improvementFactor = base && base.throughput !== undefined && c.throughput !== undefined ? improvementFactor(base.throughput, c.throughput) : null;
  }
}

export async function runStudy(configInput: StudyConfigInput | StudyConfig, options: RunStudyOptions = {}): Promise<StudyResults> {
  const { signal, logger, onProgress } = options;
  const config = resolveStudyConfig(configInput as StudyConfigInput);
  const startedAt = new Date();
  const started = performance.now();
  const environment = await collectEnvironment();
  const columns = await planColumns(config, logger);
  const cells: StudyCell[] = [];
  const total = config.suites.reduce((n, s) => n + s.models.length, 0) * columns.length * config.batchSizes.length;
  let done = 0;
  // Work units for the ETA: a cell is SEGMENTS rounds; re-measures add theirs once they are known.
  let units = 0;
  let extraUnits = 0;
  const report = (current: string) => {
    if (!onProgress) return;
    const elapsedMs = performance.now() - started;
    const totalUnits = total * SEGMENTS + extraUnits;
    onProgress({ done, total, current, elapsedMs, ...(units > 0 ? { etaMs: (elapsedMs / units) * Math.max(0, totalUnits - units) } : {}) });
  };
  const checkAbort = () => {
    if (signal?.aborted) throw new TrtnError('ERR_ABORTED', 'study aborted');
  };

  for (const suite of config.suites) {
    const shape = parseInputSetting(suite.input);
    checkAbort();
    report(`${suite.input}: loading data`);
    const data = await loadSuiteData(suite, shape, config);
    for (const modelSpec of suite.models) {
      checkAbort();
      report(`${suite.input} ${modelSpec}: loading model`);
      let model: StudyModel | undefined;
      let modelError: unknown;
      try {
        model = await loadStudyModel(modelSpec, shape, config.seed);
      } catch (err) {
        modelError = err;
      }
      const modelName = model?.name ?? modelSpec.replace(/^.*\//, '').replace(/\.onnx$/i, '');
      // Build every column first (engines stay alive), then measure all of the model's cells in interleaved rounds.
      const modelCells: StudyCell[] = [];
      const pending: Pending[] = [];
      const owned: Engine[] = [];
      try {
        for (const column of columns) {
          const where = `${suite.input} ${modelName} ${column.label}`;
          const template: Omit<StudyCell, 'batchSize' | 'status'> = {
            input: suite.input,
            inputShape: shape,
            model: modelName,
            modelSource: modelSpec,
            precision: column.precision,
            backend: column.backend,
            column: column.label,
            ...(model ? { modelBytes: model.bytes.byteLength } : {}),
          };
          const unrunnable = (status: CellStatus, error: CellError) => {
            for (const batchSize of config.batchSizes) {
              modelCells.push({ ...template, batchSize, status, error });
              done++;
              units += SEGMENTS;
            }
            logger?.('warning', `${where}: ${status}: ${error.message}`);
            report(where);
          };
          // A model that cannot be loaded is the user's to fix whatever the backend: report that first.
          if (!model) {
            unrunnable('failed', cellError(modelError));
            continue;
          }
          if (column.unavailable) {
            unrunnable('unavailable', column.unavailable);
            continue;
          }
          if (column.precision === 'int8' && data.calibrationError) {
            unrunnable('failed', data.calibrationError);
            continue;
          }
          checkAbort();
          // Peak host memory while this column is built and evaluated (its engines then stay alive for the rounds).
          const sampler = new RssSampler();
          sampler.start();
          const columnCells: StudyCell[] = [];
          try {
            report(`${where}: ${column.precision === 'int8' ? 'calibrating + building' : 'building'}`);
            const t0 = performance.now();
            let engine: Engine;
            try {
              engine = await buildEngine(model.bytes, buildOptionsFor(column, config, data.calibration, options));
            } catch (err) {
              rethrowAbort(err, signal);
              unrunnable(statusOf(err), cellError(err));
              continue;
            }
            owned.push(engine);
            const shared: Partial<StudyCell> = { path: engine.path, buildMs: performance.now() - t0, engineBytes: engine.serialize().byteLength };
            const gpuMemory = (engine as unknown as { deviceMemoryBytes?: unknown }).deviceMemoryBytes;
            if (typeof gpuMemory === 'number') shared.gpuMemoryBytes = gpuMemory;
            if (data.accuracy) {
              report(`${where}: accuracy on ${data.accuracy.name}`);
              try {
                shared.accuracy = await evaluateTop1(engine, data.accuracy, Math.max(...config.batchSizes), signal);
              } catch (err) {
                rethrowAbort(err, signal);
                shared.accuracy = null;
                shared.accuracyError = cellError(err);
              }
            } else if (data.accuracyError) {
              shared.accuracy = null;
              shared.accuracyError = data.accuracyError;
            }
            const streamEngines = await throughputEngines(engine, column, config, owned);
            for (const batchSize of config.batchSizes) {
              const cell: StudyCell = { ...template, ...shared, batchSize, status: 'ok' };
              const at = `${where} batch ${batchSize}`;
              try {
                const batchEngine = await engineForBatch(engine, batchSize, column, config, model.bytes, data.calibration, options, owned);
                const meter = new RoundMeter(batchEngine, column.backend === 'tensorrt' ? [batchEngine] : streamEngines, batchSize, measureSettings(config), { inferMs: config.durationMs / 3, ...(signal ? { signal } : {}) });
                pending.push({ cell, where: at, meter });
              } catch (err) {
                rethrowAbort(err, signal);
                Object.assign(cell, { status: statusOf(err), error: cellError(err) });
                pending.push({ cell, where: at });
                logger?.('warning', `${at}: ${cell.error!.message}`);
              }
              columnCells.push(cell);
              modelCells.push(cell);
            }
          } finally {
            const peak = sampler.stop();
            for (const c of columnCells) c.peakRssBytes = peak;
          }
        }
        // Batch-major within a round: each batch size's columns (INT8 against FP32) are measured next to each other.
        pending.sort((a, b) => a.cell.batchSize - b.cell.batchSize);
        await measureInterleaved(pending, config, (where, rounds) => {
          units += rounds.started ?? 0;
          extraUnits += rounds.planned ?? 0;
          report(where);
        }, options);
        done += pending.length;
      } finally {
        for (const e of owned.splice(0)) e.dispose();
      }
      // Results keep the column-major order (columns, then batch sizes).
      cells.push(...modelCells);
      report(`${suite.input} ${modelName}`);
    }
  }
  relateToBase(cells);
  markContradictions(cells);
  return {
    schema: STUDY_SCHEMA,
    createdAt: startedAt.toISOString(),
    durationMs: performance.now() - started,
    environment,
    config,
    cells,
  };
}
