/**
 * quantizeModel: the end-to-end pipeline the onnxruntime backend and the CLI share.
 * int8: fold BatchNorm -> simplify ops on 1x1 maps -> plan Q/DQ placement (rules, or measured) -> scales from a
 * calibration cache, or calibrate on `data` (a stratified subset of `calibSize` images when `data` is a Dataset)
 * -> write the cache if asked -> insert Q/DQ.
 * fp16: convert weights and activations to float16, float32 at the model boundary.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { TrtnError } from '../errors.js';
import type { BuildOptions, CalibAlgorithm } from '../engine/options.js';
import type { Progress } from '../engine/types.js';
import type { DataSource } from '../data/types.js';
import { ItemDataset, subset } from '../data/dataset.js';
import { isDataset } from '../data/source.js';
import { calibrate, type CalibrationResult } from '../calib/calibrate.js';
import { calibratorName, readCalibrationCache, writeCalibrationCache } from '../calib/cache.js';
import { foldBatchNormDetailed } from '../onnx/fold.js';
import { simplifyUnitMaps, type Simplification } from '../onnx/simplify.js';
import { loadModel } from '../onnx/io.js';
import type { OnnxModel } from '../onnx/model.js';
import { insertQdq, planQdqForTarget, type QdqOptions, type QdqReport, type QdqTarget } from '../onnx/qdq.js';
import { measurePlacement, type MeasuredPlacementOptions, type PlacementReport } from './placement.js';
import { convertToFp16, type Fp16Report } from '../onnx/fp16.js';

export const DEFAULT_CALIB_SIZE = 512;

export interface QuantizeOptions {
  precision: 'int8' | 'fp16';
  /** Calibration data (int8), unless `cache` holds every needed scale. */
  data?: DataSource;
  algorithm?: CalibAlgorithm;
  /** Images used for calibration (default 512; a Dataset gives a stratified, seeded subset). */
  calibSize?: number;
  batchSize?: number;
  percentile?: number;
  /** TensorRT calibration cache: a path (read when it exists, else written after calibrating) or cache bytes. */
  cache?: string | Uint8Array;
  /** Which runtime the Q/DQ model is laid out for (default 'onnxruntime'). */
  target?: QdqTarget;
  /** Op types or node names to keep float (int8) / in FP32 (fp16). */
  exclude?: string[];
  /**
   * int8 placement: 'rules' (default, deterministic) places Q/DQ wherever lib/onnx/qdq.ts can; 'measured' (target
   * 'onnxruntime') then times regions on this machine and keeps float those that run faster in float
   * (lib/quantize/placement.ts); 'auto' times the rules placement against FP32 first and searches regions only when
   * it is not at least 1.1x faster in every round. Every region left float is listed in report.qdq.float with the
   * two measured times.
   */
  placement?: 'rules' | 'measured' | 'auto';
  /** Timing settings of the measured placement (batch default: batchSize, threads default: intraOpThreads). */
  measure?: MeasuredPlacementOptions;
  keepFp32?: string[];
  seed?: number;
  intraOpThreads?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

export interface QuantizeReport {
  precision: 'int8' | 'fp16';
  /** Where the scales came from: 'calibration' or 'cache'. */
  scalesFrom?: 'calibration' | 'cache';
  algorithm?: CalibAlgorithm;
  calibImages?: number;
  foldedBatchNorms: string[];
  /** Exact rewrites of ops on 1x1 maps made before placing Q/DQ (lib/onnx/simplify.ts). */
  simplified?: Simplification[];
  qdq?: QdqReport;
  /** The measured placement's timings and decisions (placement 'measured'). */
  placement?: PlacementReport;
  fp16?: Fp16Report;
  calibration?: CalibrationResult['seconds'];
  /** Human summary, e.g. 'qdq-int8 (entropy, 512 images)'. */
  path: string;
}

export interface QuantizeResult {
  model: OnnxModel;
  /** int8 scale per calibrated tensor (empty for fp16). */
  scales: Map<string, number>;
  report: QuantizeReport;
}

/**
 * The int8 quantizeModel options of a buildEngine call: calib.maxBatches x calib.batchSize images (default
 * DEFAULT_CALIB_SIZE), batches of calib.batchSize (default 64). Shared by every backend that quantizes in TypeScript.
 */
export function int8OptionsFromBuild(options: BuildOptions, extra: Partial<QuantizeOptions> = {}): QuantizeOptions {
  const calib = options.calib ?? {};
  const batchSize = calib.batchSize ?? 64;
  return {
    precision: 'int8',
    data: calib.data,
    algorithm: calib.algorithm,
    calibSize: calib.maxBatches ? calib.maxBatches * batchSize : DEFAULT_CALIB_SIZE,
    batchSize,
    percentile: calib.percentile,
    cache: calib.cache,
    // The onnxruntime builder times its placement as TensorRT's builder times tactics ('auto': only when the rules
    // placement is not clearly faster than FP32); TensorRT places its own kernels.
    placement: options.int8Placement ?? (extra.target === 'tensorrt' ? 'rules' : 'auto'),
    // timed at the largest batch the engine is built for
    measure: { batchSize: options.maxBatch ?? 64 },
    onProgress: options.onProgress,
    signal: options.signal,
    ...extra,
  };
}

/** Calibration set: a stratified subset of a Dataset, or the first `calibSize` items of any other source. */
export function calibrationSource(data: DataSource, calibSize: number, seed = 0): { source: DataSource; limit?: number } {
  if (isDataset(data) && data instanceof ItemDataset) {
    return { source: data.length > calibSize ? subset(data, calibSize, { stratified: true, seed }) : data };
  }
  return { source: data, limit: calibSize };
}

function readCache(cache: string | Uint8Array): ReturnType<typeof readCalibrationCache> | undefined {
  if (typeof cache !== 'string') return readCalibrationCache(cache);
  if (!existsSync(cache)) return undefined;
  let text: string;
  try {
    text = readFileSync(cache, 'utf8');
  } catch (err) {
    throw new TrtnError('ERR_CALIB_CACHE', `cannot read calibration cache '${cache}': ${(err as Error).message}`, { file: cache });
  }
  return readCalibrationCache(text, cache);
}

export async function quantizeModel(source: OnnxModel | string | Uint8Array, options: QuantizeOptions): Promise<QuantizeResult> {
  const model = typeof source === 'string' || source instanceof Uint8Array ? loadModel(source) : source;
  if (options.precision === 'fp16') {
    const { model: converted, report } = convertToFp16(model, { keepFp32: options.keepFp32 });
    return { model: converted, scales: new Map(), report: { precision: 'fp16', foldedBatchNorms: [], fp16: report, path: 'fp16-converted-onnx' } };
  }
  if (options.precision !== 'int8') throw new TrtnError('ERR_INVALID_ARG', `quantizeModel precision must be 'int8' or 'fp16', got ${JSON.stringify(options.precision)}`);
  const bnFolded = foldBatchNormDetailed(model);
  const unitMaps = simplifyUnitMaps(bnFolded.model);
  const folded = { ...bnFolded, model: unitMaps.model };
  const qdqOptions: QdqOptions = { target: options.target, exclude: options.exclude };
  const algorithm = options.algorithm ?? 'entropy';
  const cached = options.cache !== undefined ? readCache(options.cache) : undefined;
  const placementMode = options.placement ?? 'rules';
  if (!['rules', 'measured', 'auto'].includes(placementMode)) throw new TrtnError('ERR_INVALID_ARG', `placement must be 'rules', 'measured' or 'auto', got ${JSON.stringify(options.placement)}`);
  let placement: PlacementReport | undefined;
  if (placementMode !== 'rules') {
    const measured = await measurePlacement(folded.model, qdqOptions, {
      batchSize: options.batchSize,
      intraOpThreads: options.intraOpThreads,
      ...(placementMode === 'auto' ? { searchBelowSpeedup: 1.1, budgetSeconds: 60 } : {}),
      ...options.measure,
      signal: options.signal,
      // with scales from a cache, only placements the cache covers
      feasible: cached ? (p) => (p.calibrate.some((t) => !cached.scales.has(t)) ? 'the calibration cache has no scale for a tensor it needs' : undefined) : undefined,
    });
    qdqOptions.keepFloat = measured.keepFloat;
    placement = measured.report;
  }
  const { model: planned, plan } = planQdqForTarget(folded.model, qdqOptions);
  let scales: Map<string, number>;
  let report: QuantizeReport;
  if (cached) {
    const missing = plan.calibrate.filter((t) => !cached.scales.has(t));
    if (missing.length > 0) {
      const where = typeof options.cache === 'string' ? ` '${options.cache}'` : '';
      throw new TrtnError('ERR_CALIB_CACHE', `calibration cache${where} has no scale for tensor '${missing[0]}'${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`, { tensor: missing[0], ...(typeof options.cache === 'string' ? { file: options.cache } : {}) });
    }
    scales = cached.scales;
    report = { precision: 'int8', scalesFrom: 'cache', foldedBatchNorms: folded.folded, path: `qdq-int8 (scales from calibration cache ${cached.calibrator})` };
  } else if (plan.calibrate.length === 0) {
    // Nothing left on int8 (the measured placement kept every region float): no statistics to collect.
    scales = new Map();
    report = { precision: 'int8', scalesFrom: 'calibration', algorithm, calibImages: 0, foldedBatchNorms: folded.folded, path: 'qdq-int8 (no tensor to calibrate)' };
  } else {
    if (options.data === undefined) throw new TrtnError('ERR_INVALID_ARG', 'int8 quantization needs data to calibrate on, or a calibration cache');
    const calibSize = options.calibSize ?? DEFAULT_CALIB_SIZE;
    const { source: calibData, limit } = calibrationSource(options.data, calibSize, options.seed);
    const result = await calibrate(planned, plan.calibrate, calibData, {
      algorithm,
      batchSize: options.batchSize,
      limit,
      percentile: options.percentile,
      intraOpThreads: options.intraOpThreads,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    // The cache stores float32 scales: rounding them here makes the model built from the cache identical to this one.
    scales = new Map([...result.scales].map(([tensor, scale]) => [tensor, Math.fround(scale)]));
    if (typeof options.cache === 'string') {
      try {
        writeFileSync(options.cache, writeCalibrationCache(scales, { calibrator: calibratorName(algorithm) }));
      } catch (err) {
        throw new TrtnError('ERR_CALIB_CACHE', `cannot write calibration cache '${options.cache}': ${(err as Error).message}`, { file: options.cache });
      }
    }
    report = {
      precision: 'int8',
      scalesFrom: 'calibration',
      algorithm,
      calibImages: result.images,
      foldedBatchNorms: folded.folded,
      calibration: result.seconds,
      path: `qdq-int8 (${algorithm}, ${result.images} images)`,
    };
  }
  const { model: quantized, report: qdq } = insertQdq(planned, scales, { ...qdqOptions, plan });
  return { model: quantized, scales, report: { ...report, ...(unitMaps.simplified.length ? { simplified: unitMaps.simplified } : {}), qdq, ...(placement ? { placement, path: `${report.path} [${placement.mode} placement: ${placement.decisions.filter((d) => d.choice === 'float').length} of ${qdq.quantized.length + placement.decisions.filter((d) => d.choice === 'float').length} regions float]` } : {}) } };
}
