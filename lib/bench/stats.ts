/** Summary statistics of timing samples and the study's two ratios (Eq. 19 and Eq. 20). */
import { TrtnError } from '../errors.js';
import type { LatencyStats } from '../engine/types.js';

/**
 * The q-th percentile (0..100) of ascending-sorted samples by linear interpolation between the closest ranks
 * (rank = q/100 * (n-1)), the definition numpy uses by default, so figures can be checked by hand.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new TrtnError('ERR_INVALID_ARG', 'percentile of an empty sample');
  if (!(q >= 0 && q <= 100)) throw new TrtnError('ERR_INVALID_ARG', `percentile must be in [0, 100], received ${q}`);
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** mean, median, p90, p99, min and max of a sample of times (any unit). */
export function summarize(samples: readonly number[]): LatencyStats {
  if (samples.length === 0) throw new TrtnError('ERR_INVALID_ARG', 'cannot summarize an empty sample');
  if (!samples.every(Number.isFinite)) throw new TrtnError('ERR_INVALID_ARG', 'samples must be finite numbers');
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    mean,
    median: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** Images per second from a per-batch latency in ms. */
export function throughputFromLatency(batchSize: number, latencyMs: number): number {
  return latencyMs > 0 ? (batchSize * 1000) / latencyMs : Number.NaN;
}

/** Eq. 19: speedup = latency_base / latency_quantized (same model, same batch size). */
export function speedup(baseLatencyMs: number, quantizedLatencyMs: number): number {
  return baseLatencyMs / quantizedLatencyMs;
}

/** Eq. 20: improvement factor = throughput_quantized / throughput_base (same model, same batch size). */
export function improvementFactor(baseThroughput: number, quantizedThroughput: number): number {
  return quantizedThroughput / baseThroughput;
}

/** Index of the largest value in each row of a [rows, classes] score matrix (first index on ties). */
export function argmaxRows(scores: ArrayLike<number>, rows: number, classes: number): Int32Array {
  if (scores.length < rows * classes) {
    throw new TrtnError('ERR_SHAPE', `scores hold ${scores.length} values, fewer than ${rows} rows x ${classes} classes`);
  }
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = scores[r * classes]!;
    for (let c = 1; c < classes; c++) {
      const v = scores[r * classes + c]!;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}
