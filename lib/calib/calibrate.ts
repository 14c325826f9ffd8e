/**
 * Calibration: run the FP32 model over batches from any loader, exposing the tensors whose scales the Q/DQ
 * placement needs, accumulate per-tensor statistics where the model runs (a StatisticsHost, see host.ts), then
 * pick thresholds.
 */
import { TrtnError } from '../errors.js';
import type { CalibAlgorithm } from '../engine/options.js';
import type { Progress } from '../engine/types.js';
import type { DataSource } from '../data/types.js';
import { toBatches } from '../data/source.js';
import { exposeTensors } from '../onnx/expose.js';
import { feedInputs } from '../onnx/graph.js';
import { serializeModel } from '../onnx/io.js';
import type { OnnxModel } from '../onnx/model.js';
import { computeAmax, scaleFromAmax, type ThresholdOptions } from './algorithms.js';
import { DEFAULT_HISTOGRAM_BINS, TensorStats, checkBinCount } from './histogram.js';
import { openStatisticsHost } from './host.js';

export interface CollectOptions {
  batchSize?: number;
  /** Stop after this many images (rows). */
  limit?: number;
  bins?: number;
  intraOpThreads?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface CollectResult {
  stats: Map<string, TensorStats>;
  batches: number;
  images: number;
  /** Seconds spent running the model and in statistics (measured where they run), for the overhead figure. */
  runSeconds: number;
  statsSeconds: number;
}

/** Statistics of `tensors` (graph inputs or node outputs of `model`) over the batches of `data`. */
export async function collectStatistics(model: OnnxModel, tensors: readonly string[], data: DataSource, options: CollectOptions = {}): Promise<CollectResult> {
  const inputs = feedInputs(model.graph);
  if (inputs.length !== 1) throw new TrtnError('ERR_ONNX_MODEL', `calibration needs a model with one input; this one has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`);
  const inputName = inputs[0]!.name;
  const inputNames = new Set(inputs.map((v) => v.name));
  const fromNodes = tensors.filter((t) => !inputNames.has(t));
  const bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
  checkBinCount(bins);
  const exposed = exposeTensors(model, fromNodes);
  const host = await openStatisticsHost(serializeModel(exposed), { tensors, bins, intraOpThreads: options.intraOpThreads });
  let stats: Map<string, TensorStats>;
  let batches = 0;
  let images = 0;
  let runSeconds = 0;
  let statsSeconds = 0;
  try {
    const source = toBatches(data, { inputName, batchSize: options.batchSize ?? 64, ...(options.limit !== undefined ? { limit: options.limit } : {}), signal: options.signal });
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Awaited<ReturnType<typeof it.next>>['value']>;
      try {
        next = await it.next();
      } catch (err) {
        if (err instanceof TrtnError && err.code === 'ERR_ABORTED') throw err;
        throw new TrtnError('ERR_CALIB_DATA', `calibration data failed at batch ${batches}: ${err instanceof Error ? err.message : String(err)}`, { batch: batches }, { cause: err });
      }
      if (next.done) break;
      const feed = next.value.feeds[inputName];
      if (!feed) throw new TrtnError('ERR_CALIB_DATA', `calibration batch ${batches} has no feed '${inputName}' (feeds: ${Object.keys(next.value.feeds).join(', ')})`, { tensor: inputName, batch: batches });
      if (feed.dtype !== 'float32') throw new TrtnError('ERR_CALIB_DATA', `calibration batch ${batches}: feed '${inputName}' is ${feed.dtype}; the model takes float32`, { tensor: inputName, batch: batches });
      const seconds = await host.add({ [inputName]: feed }, batches);
      runSeconds += seconds.runSeconds;
      statsSeconds += seconds.statsSeconds;
      batches++;
      images += feed.dims[0] ?? 1;
      options.onProgress?.({ phase: 'calibrate', step: images, steps: options.limit ?? 0 });
    }
    stats = await host.statistics();
  } finally {
    await host.close();
  }
  if (batches === 0) throw new TrtnError('ERR_CALIB_DATA', 'the calibration data source produced no batches');
  stats = new Map(tensors.map((t) => [t, stats.get(t)!]));
  return { stats, batches, images, runSeconds, statsSeconds };
}

export interface CalibrateOptions extends CollectOptions, ThresholdOptions {
  algorithm?: CalibAlgorithm;
  /**
   * Algorithm for the model's own inputs (default 'minmax'). Input data is often discrete (256 pixel levels) with a
   * spike (the background value): the KL search cannot see quantization error there and clips at the spike,
   * which cuts every foreground pixel; the input's range is the data's range anyway.
   */
  inputAlgorithm?: CalibAlgorithm;
}

export interface CalibrationResult {
  /** int8 scale (amax / 127) per tensor. */
  scales: Map<string, number>;
  amax: Map<string, number>;
  algorithm: CalibAlgorithm;
  batches: number;
  images: number;
  /** Wall seconds: session runs, statistics accumulation, threshold search. */
  seconds: { run: number; stats: number; thresholds: number };
}

/** Collect statistics of `tensors` and turn them into scales with `algorithm` (default 'entropy'). */
export async function calibrate(model: OnnxModel, tensors: readonly string[], data: DataSource, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  const algorithm = options.algorithm ?? 'entropy';
  if (algorithm === 'legacy-entropy') computeAmax(new TensorStats('x'), algorithm); // throws ERR_UNSUPPORTED before any work
  const collected = await collectStatistics(model, tensors, data, options);
  const t0 = performance.now();
  const amax = new Map<string, number>();
  const scales = new Map<string, number>();
  const graphInputs = new Set(feedInputs(model.graph).map((v) => v.name));
  for (const [name, s] of collected.stats) {
    const a = computeAmax(s, graphInputs.has(name) ? (options.inputAlgorithm ?? 'minmax') : algorithm, options);
    amax.set(name, a);
    scales.set(name, scaleFromAmax(a));
  }
  const thresholds = (performance.now() - t0) / 1000;
  return { scales, amax, algorithm, batches: collected.batches, images: collected.images, seconds: { run: collected.runSeconds, stats: collected.statsSeconds, thresholds } };
}
