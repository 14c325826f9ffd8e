/** Timing statistics shared by every backend's benchmark and by the study runner. */
import { TrtnError } from '../errors.js';
import type { LatencyStats } from './types.js';

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

/** The statistics of a benchmark's per-batch times (ms). */
export const latencyStats = summarize;
