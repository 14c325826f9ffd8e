/**
 * Accuracy-budgeted mixed precision: find a small set of quantized layers to keep float so that top-1 on the
 * budget data stays within `maxDrop` of FP32. Polygraphy's `debug precision` bisects by hand and ONNX Runtime's
 * quantizer needs nodes_to_exclude by hand; this ranks every quantized layer by its sensitivity (top-1 with that
 * layer alone float) and bisects over the ranking for the shortest prefix that meets the budget. Each kept layer is
 * reported with its accuracy cost (what quantizing it alone costs) and speed cost (the whole model timed with and
 * without it on int8). Every model runs in an ONNX Runtime worker, never on the calling thread.
 */
import { TrtnError } from '../errors.js';
import type { Batch } from '../data/types.js';
import type { TensorData } from '../engine/types.js';
import { serializeModel } from '../onnx/io.js';
import type { OnnxModel } from '../onnx/model.js';
import { ORT_DISABLED_OPTIMIZERS } from '../onnx/qdq.js';
import { WorkerSession } from '../backends/onnxruntime/session.js';
import { countCorrect } from './evaluate.js';

export interface BudgetLayer {
  node: string;
  opType: string;
  /** Top-1 (0..1) on the budget data with only this layer float; the gain over all-int8 is its accuracy cost. */
  top1Alone: number;
  /** Whole-model median latency (ms) with the final placement and with this layer back on int8 (speed cost). */
  floatMs?: number;
  int8Ms?: number;
}

/** What a budget metric runs: a model in an ONNX Runtime worker, with an Engine's infer(). */
export interface BudgetCandidate {
  infer(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  /** false for the FP32 model (the reference), true for a Q/DQ placement. */
  readonly int8: boolean;
}

/** A user's quality measure of a candidate, higher is better (e.g. mAP, or the cosine of its outputs to FP32's). */
export type BudgetMetric = (candidate: BudgetCandidate) => Promise<number> | number;

export interface BudgetReport {
  maxDrop: number;
  /** 'top1' on labelled data, or the caller's 'metric' function. */
  measure: 'top1' | 'metric';
  /** Labelled images scored (0 with a metric function). */
  images: number;
  /** The measure (top-1 as 0..1, or the metric's value): FP32, every candidate layer on int8, the chosen placement. */
  fp32: number;
  int8: number;
  chosen: number;
  /** Whether the chosen placement meets the budget (false only if even all float did not, a noisy metric). */
  met: boolean;
  /** Layers kept float by the budget, most sensitive first. */
  kept: BudgetLayer[];
  /** Candidates ranked, with their sensitivity (only when a search ran). */
  ranking: BudgetLayer[];
  evaluations: number;
  seconds: number;
}

/** Top-1 of a model's first output against the labels of `batches`, in a worker. */
export async function top1(model: OnnxModel, batches: readonly Batch[], options: { intraOpThreads?: number; int8?: boolean } = {}): Promise<number> {
  const session = await WorkerSession.open(serializeModel(model), {
    graphOptimization: 'all',
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    ...(options.int8 ? { disabledOptimizers: ORT_DISABLED_OPTIMIZERS } : {}),
  });
  let correct = 0;
  let count = 0;
  try {
    for (const [i, batch] of batches.entries()) {
      if (!batch.labels) throw new TrtnError('ERR_CALIB_DATA', `accuracy budget data has no labels (batch ${i})`, { batch: i });
      const out = Object.values(await session.run(batch.feeds))[0]!;
      const logits = out.data as Float32Array;
      const rows = out.dims[0] ?? 1;
      correct += countCorrect(logits, rows, logits.length / rows, batch.labels);
      count += Math.min(rows, batch.labels.length);
    }
  } finally {
    await session.close();
  }
  return correct / Math.max(1, count);
}

/** The caller's metric on a model in a worker; a throw or a non-finite value is the caller's error (ERR_CALIB_DATA). */
async function scoreMetric(metric: BudgetMetric, model: OnnxModel, int8: boolean, intraOpThreads: number | undefined): Promise<number> {
  const session = await WorkerSession.open(serializeModel(model), {
    graphOptimization: 'all',
    ...(intraOpThreads ? { intraOpThreads } : {}),
    ...(int8 ? { disabledOptimizers: ORT_DISABLED_OPTIMIZERS } : {}),
  });
  const which = int8 ? 'an int8 candidate' : 'the FP32 model';
  let v: number;
  try {
    v = await metric({ infer: (feeds) => session.run(feeds), int8 });
  } catch (err) {
    throw new TrtnError('ERR_CALIB_DATA', `accuracy budget metric threw on ${which}: ${(err as Error)?.message ?? String(err)}`, {}, { cause: err });
  } finally {
    await session.close();
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TrtnError('ERR_CALIB_DATA', `accuracy budget metric returned ${typeof v === 'number' ? v : JSON.stringify(v) ?? typeof v} on ${which}; it must return a finite number (higher is better)`);
  return v;
}

export interface BudgetSearch {
  fp32: OnnxModel;
  /** The int8 model with these candidate nodes kept float (others as placed). */
  build(floatNodes: readonly string[]): Promise<OnnxModel>;
  candidates: readonly { node: string; opType: string }[];
  /** Labelled batches scored by top-1, unless `metric` is given. */
  batches: readonly Batch[];
  metric?: BudgetMetric;
  maxDrop: number;
  intraOpThreads?: number;
  /** Median latency (ms) of a model, for the speed cost; omitted: not measured. */
  time?: (model: OnnxModel) => Promise<number>;
  signal?: AbortSignal;
}

/** The float nodes the budget needs (empty when all-int8 already meets it) and the report. */
export async function searchAccuracyBudget(s: BudgetSearch): Promise<{ floatNodes: string[]; report: BudgetReport }> {
  const t0 = performance.now();
  let evaluations = 0;
  const images = s.batches.reduce((n, b) => n + (b.labels?.length ?? 0), 0);
  const cache = new Map<string, number>();
  const evalFloat = async (nodes: readonly string[]): Promise<number> => {
    const key = [...nodes].sort().join('\n');
    let v = cache.get(key);
    if (v === undefined) {
      if (s.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'quantization was aborted');
      v = await score(await s.build(nodes), true);
      evaluations++;
      cache.set(key, v);
    }
    return v;
  };
  const score = (m: OnnxModel, int8: boolean): Promise<number> => (s.metric ? scoreMetric(s.metric, m, int8, s.intraOpThreads) : top1(m, s.batches, { intraOpThreads: s.intraOpThreads, int8 }));
  const fp32 = await score(s.fp32, false);
  evaluations++;
  const target = fp32 - s.maxDrop;
  const int8 = await evalFloat([]);
  const done = (floatNodes: string[], chosen: number, kept: BudgetLayer[], ranking: BudgetLayer[]) => ({
    floatNodes,
    report: { maxDrop: s.maxDrop, measure: s.metric ? ('metric' as const) : ('top1' as const), images: s.metric ? 0 : images, fp32, int8, chosen, met: chosen >= target - 1e-12, kept, ranking, evaluations, seconds: (performance.now() - t0) / 1000 },
  });
  if (int8 >= target - 1e-12) return done([], int8, [], []);
  // Sensitivity: each layer alone float. Ties keep graph order.
  const ranking: BudgetLayer[] = [];
  for (const c of s.candidates) ranking.push({ ...c, top1Alone: await evalFloat([c.node]) });
  ranking.sort((a, b) => b.top1Alone - a.top1Alone);
  const prefix = (k: number) => ranking.slice(0, k).map((r) => r.node);
  // Bisection for the shortest prefix meeting the budget (all float meets it unless the metric is noisy).
  let lo = 0;
  let hi = ranking.length;
  let hiTop1 = await evalFloat(prefix(hi));
  if (hiTop1 < target) return done(prefix(hi), hiTop1, ranking.slice(), ranking);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const v = await evalFloat(prefix(mid));
    if (v >= target - 1e-12) {
      hi = mid;
      hiTop1 = v;
    } else lo = mid;
  }
  const kept = ranking.slice(0, hi).map((r) => ({ ...r }));
  if (s.time) {
    const chosenMs = await s.time(await s.build(prefix(hi)));
    for (const k of kept) {
      k.floatMs = chosenMs;
      k.int8Ms = await s.time(await s.build(prefix(hi).filter((n) => n !== k.node)));
    }
  }
  return done(prefix(hi), hiTop1, kept, ranking);
}
