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
import type { Logger, Progress } from '../engine/types.js';
import type { DataSource } from '../data/types.js';
import { ItemDataset, subset } from '../data/dataset.js';
import { isDataset } from '../data/source.js';
import { calibrate, type CalibrationResult } from '../calib/calibrate.js';
import { calibratorName, readCalibrationCache, writeCalibrationCache } from '../calib/cache.js';
import { foldBatchNormDetailed } from '../onnx/fold.js';
import { simplifyUnitMaps, type Simplification } from '../onnx/simplify.js';
import { loadModel } from '../onnx/io.js';
import type { OnnxModel, OnnxNode } from '../onnx/model.js';
import { insertQdq, ORT_DISABLED_OPTIMIZERS_KEY, planQdq, planQdqForTarget, quantizeWeightPerChannel, weightQmax, type QdqOptions, type QdqPlan, type QdqReport, type QdqTarget } from '../onnx/qdq.js';
import { measurePlacement, ortTimer, type MeasuredPlacementOptions, type PlacementReport } from './placement.js';
import { convertToFp16, type Fp16Report } from '../onnx/fp16.js';
import { correctBias, equalizeModel, type BiasCorrectionReport, type EqualizeReport } from '../onnx/equalize.js';
import { smoothingPairs, smoothModel, type SmoothReport } from '../onnx/smooth.js';
import { decomposeHardActivationsForInt8, type HardActivationRewrite } from '../onnx/hard-activations.js';
import { widenChannelGates, type WidenedGate } from '../onnx/gate-spans.js';
import { padDepthwiseChannels, type PaddedDepthwise } from '../onnx/pad-channels.js';
import { rewriteChannelShuffles, type ShuffleRewrite } from '../onnx/shuffle.js';
import { feedInputs, findInitializer } from '../onnx/graph.js';
import { tensorToFloat32 } from '../onnx/tensor.js';
import { channelStatistics, readBatches } from './channels.js';
import { searchAccuracyBudget, type BudgetMetric, type BudgetReport } from './budget.js';
import type { Batch } from '../data/types.js';

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
   * 'onnxruntime') then times float prefixes (int8 starting at a later cut of the graph) and regions on this machine
   * and keeps float those that run faster in float (lib/quantize/placement.ts); 'auto' times the prefixes too, and
   * the rules placement against FP32, and searches regions only when it is not at least 1.1x faster in every round.
   * Every region left float is listed in report.qdq.float with the two measured times.
   */
  placement?: 'rules' | 'measured' | 'auto';
  /** Timing settings of the measured placement (batch default: batchSize, threads default: intraOpThreads). */
  measure?: MeasuredPlacementOptions;
  keepFp32?: string[];
  /**
   * Cross-layer equalization before placing Q/DQ (lib/onnx/equalize.ts; default true): exact in FP32, it evens out
   * per-channel ranges that per-tensor activation scales cannot represent.
   */
  equalize?: boolean;
  /**
   * SmoothQuant-style smoothing of Gemm/MatMul inputs with this alpha (lib/onnx/smooth.ts), from channel ranges
   * over the calibration data; default 0.5; false: off. Not applied with scales from a cache (they were taken
   * without it) or when a cache is written (a later build reading it has no data to smooth with).
   */
  smooth?: number | false;
  /**
   * Bias correction of quantized layers from channel means of the calibration data (default true; needs data; not
   * with a cache, so that the cache alone rebuilds the same model).
   */
  biasCorrection?: boolean;
  /**
   * 7-bit weights for target 'onnxruntime' (QdqOptions.reduceRange; depthwise convolutions keep 8 bits). Default: on,
   * on every CPU. false gives 8-bit weights, which only a CPU with VNNI runs without saturating: on this project's
   * AVX512-VNNI machine they moved MobileNetV2's logits cosine 0.9857 -> 0.9863 but MobileNetV3-Small's 0.9929 -> 0.9874
   * (bench/int8-architectures.mjs --reduce-range), so they are not the default.
   */
  reduceRange?: boolean;
  /**
   * Target 'onnxruntime': pad depthwise convolutions whose channel count is not a multiple of 16 (with the 1x1
   * convolutions around them), exactly, so that ONNX Runtime runs them on its int8 depthwise kernel instead of a
   * generic one several times slower (lib/onnx/pad-channels.ts). Default true.
   */
  padChannels?: boolean;
  /**
   * ONNX Runtime int8: repeat each squeeze-excitation gate along the width before its Mul (lib/onnx/gate-spans.ts;
   * default true), so that ORT's channels-last QLinearMul broadcasts in spans of a row instead of one pixel. Exact.
   */
  widenGates?: boolean;
  /** Keep float the fewest layers that hold top-1 on `data` within `maxDrop` (0..1) of FP32 (lib/quantize/budget.ts). */
  accuracyBudget?: AccuracyBudget;
  seed?: number;
  intraOpThreads?: number;
  onProgress?: (p: Progress) => void;
  /** Receives warnings (e.g. an int8 build that keeps no Q/DQ). */
  logger?: Logger;
  signal?: AbortSignal;
}

/** Top-1 on labelled data, or the caller's metric function (higher is better), may drop at most maxDrop from FP32. */
export type AccuracyBudget =
  | {
      /** Labelled data (a held-out split, not the test set) the drop is measured on. */
      data: DataSource;
      /** Largest allowed top-1 drop from FP32, as a fraction (0.005 = 0.5 points). */
      maxDrop: number;
      /** Images of `data` used (default 2000). */
      limit?: number;
    }
  | {
      /**
       * Scores a candidate (the FP32 model, then int8 placements), each running in an ONNX Runtime worker with an
       * Engine's infer(); higher is better. A throw or a non-finite result fails the build with ERR_CALIB_DATA.
       */
      metric: BudgetMetric;
      /** Largest allowed drop of the metric from its FP32 value, in the metric's units. */
      maxDrop: number;
    };

/** Report fields of the rewrites made only for ONNX Runtime's int8 kernels. */
type Int8RewriteField = 'channelShuffles' | 'paddedChannels' | 'hardActivations' | 'widenedGates';

export interface QuantizeReport {
  precision: 'int8' | 'fp16';
  /** Where the scales came from: 'calibration', a 'cache', or the 'model' itself (it already carried Q/DQ). */
  scalesFrom?: 'calibration' | 'cache' | 'model';
  /**
   * ONNX Runtime: the weights' bits and why (QuantizeOptions.reduceRange). Not in `path`, which stays the same on
   * every machine for the same placement and scales.
   */
  weights?: string;
  /** Methods applied beyond plain PTQ, in order (e.g. 'cross-layer equalization', 'bias correction'). */
  methods?: string[];
  equalization?: EqualizeReport;
  smoothing?: SmoothReport;
  /** HardSwish/HardSigmoid rewritten into ops with int8 kernels (ONNX Runtime; lib/onnx/hard-activations.ts). */
  hardActivations?: HardActivationRewrite[];
  /** Squeeze-excitation gates repeated along the width before their Mul (ONNX Runtime; lib/onnx/gate-spans.ts). */
  widenedGates?: WidenedGate[];
  /** Channel shuffles rewritten without their Transpose for ONNX Runtime's channels-last int8 (lib/onnx/shuffle.ts). */
  channelShuffles?: ShuffleRewrite[];
  /** Depthwise convolutions padded to 16 channels for ONNX Runtime's int8 kernel (lib/onnx/pad-channels.ts). */
  paddedChannels?: PaddedDepthwise[];
  biasCorrection?: BiasCorrectionReport;
  budget?: BudgetReport;
  /** Warnings (also sent to the build's logger), e.g. an int8 build that kept no Q/DQ. */
  warnings?: string[];
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
    equalize: calib.equalize,
    smooth: calib.smooth,
    biasCorrection: calib.biasCorrection,
    accuracyBudget: calib.accuracyBudget,
    onProgress: options.onProgress,
    logger: options.logger,
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
  if (hasQdq(model)) return fromModelScales(model, options);
  if (options.data === undefined && options.cache === undefined)
    throw new TrtnError('ERR_INVALID_ARG', "int8 quantization needs calib: { data } (a Dataset or async iterable of feeds) or calib: { cache }, unless the model already carries Q/DQ");
  const bnFolded = foldBatchNormDetailed(model);
  const unitMaps = simplifyUnitMaps(bnFolded.model);
  const folded = { ...bnFolded, model: unitMaps.model };
  let work = folded.model;
  const methods: string[] = [];
  const extra: Partial<QuantizeReport> = {};
  // Exact rewrites first (FP32 unchanged): cross-layer equalization needs no data.
  if (options.equalize ?? true) {
    const eq = equalizeModel(work);
    if (eq.report.pairs.length > 0) {
      work = eq.model;
      extra.equalization = eq.report;
      methods.push(`cross-layer equalization (${eq.report.pairs.length} pairs)`);
    }
  }
  const ortTarget = (options.target ?? 'onnxruntime') === 'onnxruntime';
  const reduceRange = ortTarget && (options.reduceRange ?? true);
  const qdqOptions: QdqOptions = { target: options.target, exclude: options.exclude, reduceRange };
  const algorithm = options.algorithm ?? 'entropy';
  const cached = options.cache !== undefined ? readCache(options.cache) : undefined;
  const placementMode = options.placement ?? 'rules';
  if (!['rules', 'measured', 'auto'].includes(placementMode)) throw new TrtnError('ERR_INVALID_ARG', `placement must be 'rules', 'measured' or 'auto', got ${JSON.stringify(options.placement)}`);
  const batchSize = options.batchSize ?? 64;
  const inputName = feedInputs(model.graph)[0]?.name ?? 'input';
  // The calibration images, read once: the data-aware rewrites and the calibration see the same ones.
  let calibBatches: Batch[] | undefined;
  const batches = async (): Promise<Batch[]> => {
    if (!calibBatches) {
      const { source, limit } = calibrationSource(options.data!, options.calibSize ?? DEFAULT_CALIB_SIZE, options.seed);
      calibBatches = await readBatches(source, inputName, batchSize, limit ?? (isDataset(source) ? undefined : (options.calibSize ?? DEFAULT_CALIB_SIZE)), options.signal);
    }
    return calibBatches;
  };
  const smoothAlpha = options.smooth ?? 0.5;
  if (smoothAlpha !== false && options.data !== undefined && options.cache === undefined) {
    const pairs = smoothingPairs(work);
    if (pairs.length > 0) {
      const stats = await channelStatistics(work, pairs.map((p) => ({ tensor: p.tensor, axis: p.channelAxis })), await batches(), { intraOpThreads: options.intraOpThreads, signal: options.signal });
      const sm = smoothModel(work, new Map([...stats].map(([t, st]) => [t, st.absMax])), { alpha: smoothAlpha });
      work = sm.model;
      extra.smoothing = sm.report;
      methods.push(`smoothing of ${pairs.length} Gemm/MatMul input${pairs.length === 1 ? '' : 's'} (alpha ${smoothAlpha})`);
    }
  }
  // the float model as given (BatchNorm folded, exactly rescaled): FP32's speed, and the model when nothing stays int8
  const floatModel = work;
  // Rewrites for ONNX Runtime's int8 kernels (exact in FP32): each records its method line and report field, both
  // dropped again when nothing ends up on int8 (see below).
  const int8Rewrites: { method: string; field: Int8RewriteField }[] = [];
  const int8Rewrite = <K extends Int8RewriteField>(rewritten: OnnxModel, field: K, entries: NonNullable<QuantizeReport[K]>, method: string): void => {
    work = rewritten;
    extra[field] = entries;
    int8Rewrites.push({ method, field });
    methods.push(method);
  };
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ortTarget) {
    const shuffles = rewriteChannelShuffles(work);
    if (shuffles.rewrites.length > 0) {
      const perms = shuffles.rewrites.reduce((n, r) => n + r.permutations.length, 0);
      int8Rewrite(shuffles.model, 'channelShuffles', shuffles.rewrites, `${plural(shuffles.rewrites.length, 'channel shuffle')} rewritten into Split/Concat (${plural(perms, '1x1 permutation convolution')})`);
    }
    const pad = options.padChannels ?? true ? padDepthwiseChannels(work) : undefined;
    if (pad && pad.padded.length > 0)
      int8Rewrite(pad.model, 'paddedChannels', pad.padded, `${plural(pad.padded.length, 'depthwise convolution')} padded to a multiple of 16 channels (ONNX Runtime's int8 depthwise kernel)`);
    const hard = decomposeHardActivationsForInt8(work, qdqOptions);
    if (hard.rewrites.length > 0) int8Rewrite(hard.model, 'hardActivations', hard.rewrites, `${hard.rewrites.length} HardSwish/HardSigmoid rewritten into int8 Add, Clip and Mul`);
    const gates = options.widenGates ?? true ? widenChannelGates(work) : undefined;
    if (gates && gates.widened.length > 0)
      int8Rewrite(gates.model, 'widenedGates', gates.widened, `${plural(gates.widened.length, 'channel gate')} repeated along the width (ONNX Runtime's int8 Mul broadcasts one pixel at a time)`);
  }
  let placement: PlacementReport | undefined;
  if (placementMode !== 'rules') {
    const measured = await measurePlacement(work, qdqOptions, {
      batchSize: options.batchSize,
      intraOpThreads: options.intraOpThreads,
      ...(placementMode === 'auto' ? { searchBelowSpeedup: 1.1, budgetSeconds: 60 } : {}),
      ...(work !== floatModel ? { reference: floatModel } : {}),
      ...options.measure,
      signal: options.signal,
      // with scales from a cache, only placements the cache covers
      feasible: cached ? (p) => (p.calibrate.some((t) => !cached.scales.has(t)) ? 'the calibration cache has no scale for a tensor it needs' : undefined) : undefined,
    });
    qdqOptions.keepFloat = measured.keepFloat;
    placement = measured.report;
  }
  // as insertQdq will quantize it
  const quantizeWeight = (w: Float32Array, dims: readonly number[], axis: number, node: OnnxNode): Float32Array => {
    const { q, scales: ws } = quantizeWeightPerChannel(w, dims, axis, weightQmax(node, { dims }, reduceRange));
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    return Float32Array.from(q, (v, i) => v * ws[Math.floor(i / inner) % dims[axis]!]!);
  };
  // Channel means of the quantized layers' inputs (bias correction), taken once on the first plan's model.
  let means: Map<string, Float64Array> | undefined;
  // Not with a cache: a model built from the cache alone (no data) must be the same model.
  const useBiasCorrection = (options.biasCorrection ?? true) && options.data !== undefined && options.cache === undefined;
  /** The model and plan with `floatNodes` kept float as well, its quantized layers bias-corrected. */
  const prepare = async (floatNodes: readonly string[]): Promise<{ model: OnnxModel; plan: QdqPlan; biasCorrection?: BiasCorrectionReport }> => {
    const r = planQdqForTarget(work, { ...qdqOptions, exclude: [...(qdqOptions.exclude ?? []), ...floatNodes] });
    const nodes = r.plan.report.quantized.map((e) => e.node);
    if (!useBiasCorrection || nodes.length === 0) return r;
    if (!means) {
      const requests = nodes.map((n) => {
        const node = r.model.graph.nodes.find((x) => x.name === n)!;
        return { tensor: node.inputs[0]!, axis: node.opType === 'MatMul' ? -1 : 1 };
      });
      means = new Map([...(await channelStatistics(r.model, requests, await batches(), { intraOpThreads: options.intraOpThreads, signal: options.signal }))].map(([t, st]) => [t, st.mean]));
    }
    const bc = correctBias(r.model, nodes, means, quantizeWeight);
    return { model: bc.model, plan: r.plan, biasCorrection: bc.report };
  };
  const scales = new Map<string, number>();
  let calibImages = 0;
  let calibSeconds: CalibrationResult['seconds'] | undefined;
  /** Scales for every tensor `plan` needs: from the cache, else calibrated (only those not calibrated yet). */
  const scalesFor = async (m: OnnxModel, plan: QdqPlan): Promise<void> => {
    if (cached) {
      const missing = plan.calibrate.filter((t) => !cached.scales.has(t));
      if (missing.length > 0) {
        const where = typeof options.cache === 'string' ? ` '${options.cache}'` : '';
        throw new TrtnError('ERR_CALIB_CACHE', `calibration cache${where} has no scale for tensor '${missing[0]}'${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`, { tensor: missing[0], ...(typeof options.cache === 'string' ? { file: options.cache } : {}) });
      }
      for (const t of plan.calibrate) scales.set(t, cached.scales.get(t)!);
      return;
    }
    const missing = plan.calibrate.filter((t) => !scales.has(t));
    if (missing.length === 0) return;
    if (options.data === undefined) throw new TrtnError('ERR_INVALID_ARG', 'int8 quantization needs data to calibrate on, or a calibration cache');
    const result = await calibrate(m, missing, await batches(), {
      algorithm,
      batchSize,
      percentile: options.percentile,
      intraOpThreads: options.intraOpThreads,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    // float32, as a calibration cache stores them: a model rebuilt from the cache is the same model
    for (const [t, v] of result.scales) scales.set(t, Math.fround(v));
    calibImages = result.images;
    calibSeconds ??= result.seconds;
  };
  let { model: planned, plan, biasCorrection } = await prepare([]);
  await scalesFor(planned, plan);
  if (options.accuracyBudget) {
    const budget = options.accuracyBudget;
    const budgetBatches = 'metric' in budget ? [] : await readBatches(budget.data, inputName, batchSize, budget.limit ?? 2000, options.signal);
    const timer = ortTimer(work, options.measure?.batchSize ?? batchSize, options.intraOpThreads, 10);
    const build = async (floatNodes: readonly string[]): Promise<OnnxModel> => {
      const p = await prepare(floatNodes);
      await scalesFor(p.model, p.plan);
      return insertQdq(p.model, scales, { ...qdqOptions, plan: p.plan }).model;
    };
    const searched = await searchAccuracyBudget({
      fp32: work,
      build,
      candidates: plan.report.quantized.filter((e) => work.graph.nodes.some((n) => n.name === e.node)),
      batches: budgetBatches,
      ...('metric' in budget ? { metric: budget.metric } : {}),
      maxDrop: budget.maxDrop,
      intraOpThreads: options.intraOpThreads,
      time: async (m) => {
        const t = await timer(m, { int8: true });
        try {
          const runs = [await t.time(), await t.time(), await t.time()];
          return runs.sort((a, b) => a - b)[1]!;
        } finally {
          await t.release();
        }
      },
      signal: options.signal,
    });
    extra.budget = searched.report;
    if (searched.floatNodes.length > 0) {
      qdqOptions.exclude = [...(qdqOptions.exclude ?? []), ...searched.floatNodes];
      ({ model: planned, plan, biasCorrection } = await prepare([]));
      await scalesFor(planned, plan);
    }
    const allowed = 'metric' in budget ? `metric drop ${+budget.maxDrop.toPrecision(3)}` : `${(budget.maxDrop * 100).toFixed(2)} pt`;
    methods.push(`accuracy budget ${allowed}: ${searched.floatNodes.length} layer${searched.floatNodes.length === 1 ? '' : 's'} kept float${searched.report.met ? '' : ' (budget not met)'}`);
  }
  if (biasCorrection && biasCorrection.corrected.length > 0) {
    extra.biasCorrection = biasCorrection;
    methods.push(`bias correction (${biasCorrection.corrected.length} layer${biasCorrection.corrected.length === 1 ? '' : 's'})`);
  }
  // A requested cache is always written, with every scale the rules placement needs (so a later build reading it can
  // place int8 anywhere), even when this placement keeps every layer float.
  if (typeof options.cache === 'string' && !cached) {
    const rules = planQdqForTarget(work, { target: options.target, exclude: options.exclude });
    await scalesFor(rules.model, rules.plan);
    try {
      writeFileSync(options.cache, writeCalibrationCache(scales, { calibrator: calibratorName(algorithm) }));
    } catch (err) {
      throw new TrtnError('ERR_CALIB_CACHE', `cannot write calibration cache '${options.cache}': ${(err as Error).message}`, { file: options.cache });
    }
  }
  let { model: quantized, report: qdq } = insertQdq(planned, scales, { ...qdqOptions, plan });
  if (qdq.quantized.length === 0 && work !== floatModel) {
    // nothing on int8: the rewrites for int8 kernels (channels padded, HardSwish decomposed, gates widened) are
    // dropped, the float model as given kept
    quantized = floatModel;
    qdq = planQdq(floatModel, qdqOptions).report;
    for (const { method, field } of int8Rewrites) {
      delete extra[field];
      methods.splice(methods.indexOf(method), 1);
    }
  }
  const floatRegions = placement ? placement.decisions.filter((d) => d.choice === 'float').length : 0;
  const scaleSource = cached ? `scales from calibration cache ${cached.calibrator}` : `${algorithm}, ${calibImages} images`;
  let path = `qdq-int8 (${scaleSource}${methods.length ? `; ${methods.join(', ')}` : ''})${placement ? ` [${placement.mode} placement: ${floatRegions} of ${qdq.quantized.length + floatRegions} regions float]` : ''}`;
  const warnings: string[] = [];
  if (qdq.quantized.length === 0) {
    // Honest label: no layer runs on int8, so this is the float model (no Q/DQ at all).
    const why = placement && floatRegions > 0 ? placement.summary : qdq.float.map((f) => `${f.node}: ${f.reason}`).slice(0, 3).join('; ') || 'no quantizable layer';
    path = `fp32 (int8 requested, no layer kept on int8: ${why})`;
    warnings.push(`int8 was requested but the model keeps no Q/DQ and runs in float: ${why}`);
  }
  for (const w of warnings) options.logger?.('warning', w);
  const report: QuantizeReport = {
    precision: 'int8',
    scalesFrom: cached ? 'cache' : 'calibration',
    ...(cached ? {} : { algorithm, calibImages, ...(calibSeconds ? { calibration: calibSeconds } : {}) }),
    ...(ortTarget ? { weights: weightsNote(reduceRange, options.reduceRange !== undefined) } : {}),
    foldedBatchNorms: folded.folded,
    ...(unitMaps.simplified.length ? { simplified: unitMaps.simplified } : {}),
    ...(methods.length ? { methods } : {}),
    ...extra,
    qdq,
    ...(placement ? { placement } : {}),
    ...(warnings.length ? { warnings } : {}),
    path,
  };
  return { model: qdq.quantized.length === 0 ? stripQdqMetadata(quantized) : quantized, scales, report };
}

/** The weights' bits for ONNX Runtime, as the report gives them. */
function weightsNote(reduceRange: boolean, asked: boolean): string {
  if (!reduceRange) return '8-bit weights (reduceRange: false)';
  return `7-bit weights, 8-bit depthwise (${asked ? 'reduceRange: true' : 'the default: without VNNI, 8-bit products would saturate'})`;
}

/** Whether the model already carries quantization (a QAT export or another tool's PTQ). */
export function hasQdq(model: OnnxModel): boolean {
  return model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
}

/** A model that already carries Q/DQ keeps its own scales: no calibration, no rewrite. */
function fromModelScales(model: OnnxModel, options: QuantizeOptions): QuantizeResult {
  const q = model.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').length;
  const dq = model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').length;
  const scales = new Map<string, number>();
  for (const n of model.graph.nodes) {
    if (n.opType !== 'QuantizeLinear') continue;
    const s = findInitializer(model.graph, n.inputs[1] ?? '');
    if (s && s.dims.length === 0) scales.set(n.inputs[0]!, tensorToFloat32(s)[0]!);
  }
  const ignored = [options.data !== undefined ? 'calibration data' : '', options.cache !== undefined ? 'calibration cache' : ''].filter(Boolean);
  const warnings = ignored.length ? [`the model already carries Q/DQ (${q} QuantizeLinear, ${dq} DequantizeLinear): its own scales are used, the ${ignored.join(' and ')} ignored`] : [];
  for (const w of warnings) options.logger?.('warning', w);
  return {
    model,
    scales,
    report: { precision: 'int8', scalesFrom: 'model', foldedBatchNorms: [], ...(warnings.length ? { warnings } : {}), path: `qdq-int8 (scales from the model: ${q} QuantizeLinear, ${dq} DequantizeLinear)` },
  };
}

/** The float model an all-float placement leaves: without the Q/DQ session metadata. */
function stripQdqMetadata(model: OnnxModel): OnnxModel {
  return { ...model, metadataProps: (model.metadataProps ?? []).filter((e) => e.key !== ORT_DISABLED_OPTIMIZERS_KEY) };
}

