/**
 * Threshold (amax) selection from a TensorStats histogram. Every algorithm returns the absolute value that
 * maps to int8 127; the scale is amax / 127.
 *
 * - 'minmax': the largest |x| seen.
 * - 'percentile': the upper edge of the first histogram bin at which the cumulative count of |x| reaches
 *   p% of all values (99.99 by default), capped at the largest |x|.
 * - 'entropy': TensorRT's IInt8EntropyCalibrator2 search. For each candidate i of `levels`..bins kept bins,
 *   P = hist[0..i) with the counts of bins >= i added to P[i-1]; Q = hist[0..i) merged into `levels` groups
 *   (floor(i/levels) bins each, the remainder in the last) and expanded back, each group's count spread evenly
 *   over the bins of that group where P is non-zero; P and Q are smoothed with eps 1e-4 (see divergence()).
 *   The candidate with the smallest KL(P||Q) wins (the first on ties) and amax = i * binWidth, capped at the
 *   largest |x|. Bin 0 counts as bin 1 does: the zero spike of post-Relu tensors would otherwise dominate P.
 *   entropyKeptReference does exactly this in O(bins) per candidate; entropyAmax runs the addon's calibEntropyKept
 *   (native/calib/entropy.cc), the same divergence rearranged to O(levels) per candidate, and the reference where
 *   that does not apply or the addon cannot load (test/calib/entropy-search.test.ts holds the two to one answer).
 */
import { TrtnError } from '../errors.js';
import type { CalibAlgorithm } from '../engine/options.js';
import type { TensorStats } from './histogram.js';
import { calibKernels } from './kernels.js';

export const DEFAULT_PERCENTILE = 99.99;
export const ENTROPY_LEVELS = 128;
/** The eps that P's and Q's zero bins become before the divergence. */
const SMOOTHING = 0.0001;

export interface ThresholdOptions {
  percentile?: number;
  /** Quantization levels for 'entropy' (128 for int8's non-negative half). */
  levels?: number;
}

export function minmaxAmax(stats: TensorStats): number {
  return stats.absMax;
}

export function percentileAmax(stats: TensorStats, percentile = DEFAULT_PERCENTILE): number {
  if (!(percentile > 0 && percentile <= 100)) throw new TrtnError('ERR_INVALID_ARG', `percentile must be in (0, 100], got ${percentile}`);
  const bins = stats.bins;
  let total = 0;
  for (let k = 0; k < bins.length; k++) total += bins[k]!;
  if (total === 0 || stats.range === 0) return stats.absMax;
  const target = (percentile / 100) * total;
  const width = stats.range / bins.length;
  let cumulative = 0;
  for (let k = 0; k < bins.length; k++) {
    cumulative += bins[k]!;
    if (cumulative >= target) return Math.min((k + 1) * width, stats.absMax);
  }
  return stats.absMax;
}

/** KL(P||Q) of the candidate keeping the first `kept` bins (see the module comment); Infinity when undefined. */
export function entropyDivergence(hist: ArrayLike<number>, kept: number, levels = ENTROPY_LEVELS): number {
  let outliers = 0;
  for (let k = kept; k < hist.length; k++) outliers += hist[k]!;
  return divergence(hist, kept, levels, outliers);
}

/**
 * KL(P||Q) for one candidate, as the published reference of the TensorRT entropy calibration does it (NVIDIA's
 * "8-bit Inference with TensorRT", implemented alike in MXNet): floor(kept/levels) bins per group, the remainder in
 * the last group, Q zero where P is zero, then both smoothed (zeros become 1e-4, taken evenly from the non-zeros)
 * before the divergence, so a clipped bin that Q misses costs a large but finite amount.
 */
function divergence(hist: ArrayLike<number>, kept: number, levels: number, outliers: number): number {
  const p = new Float64Array(kept);
  for (let k = 0; k < kept; k++) p[k] = hist[k]!;
  p[kept - 1]! += outliers;
  const m = Math.floor(kept / levels);
  const q = new Float64Array(kept);
  for (let j = 0; j < levels; j++) {
    const start = j * m;
    const stop = j === levels - 1 ? kept : start + m;
    let sum = 0;
    let nz = 0;
    for (let k = start; k < stop; k++) {
      sum += hist[k]!;
      if (p[k]! !== 0) nz++;
    }
    if (nz) for (let k = start; k < stop; k++) if (p[k]! !== 0) q[k] = sum / nz;
  }
  const smooth = (a: Float64Array) => {
    let zeros = 0;
    for (const v of a) if (v === 0) zeros++;
    const nonZeros = a.length - zeros;
    if (nonZeros === 0) return false;
    const eps1 = (SMOOTHING * zeros) / nonZeros;
    for (let k = 0; k < a.length; k++) a[k] = a[k] === 0 ? SMOOTHING : a[k]! - eps1;
    return true;
  };
  if (!smooth(p) || !smooth(q)) return Infinity;
  let ps = 0;
  let qs = 0;
  for (let k = 0; k < kept; k++) {
    ps += p[k]!;
    qs += q[k]!;
  }
  let kl = 0;
  for (let k = 0; k < kept; k++) {
    const a = p[k]! / ps;
    const b = q[k]! / qs;
    if (a > 0 && b > 0) kl += a * Math.log(a / b);
  }
  return kl;
}

export function entropyAmax(stats: TensorStats, levels = ENTROPY_LEVELS): number {
  const bins = stats.bins;
  if (stats.range === 0) return stats.absMax;
  if (bins.length <= levels) return stats.absMax;
  // The zero spike (half of every post-Relu tensor) would dominate the divergence: bin 0 counts as bin 1 does.
  const hist = Float64Array.from(bins);
  hist[0] = hist[1]!;
  const kept = entropyKept(hist, levels);
  return Math.min((kept * stats.range) / bins.length, stats.absMax);
}

/** Bins kept by the entropy search on `hist` (bin 0 already replaced): the smallest KL, the first on ties. */
export function entropyKept(hist: Float64Array, levels = ENTROPY_LEVELS): number {
  const kept = calibKernels()?.entropyKept(hist, levels) ?? -1;
  return kept >= 0 ? kept : entropyKeptReference(hist, levels);
}

/** Candidates run from `levels` to just past the last non-zero bin: later ones all see the same P. */
function searchStop(hist: ArrayLike<number>, levels: number): number {
  let lastNonZero = hist.length - 1;
  while (lastNonZero > 0 && hist[lastNonZero] === 0) lastNonZero--;
  return Math.max(levels, lastNonZero + 1);
}

/** The search as the module comment states it: O(bins) per candidate, O(bins^2) per tensor. The specification. */
export function entropyKeptReference(hist: Float64Array, levels = ENTROPY_LEVELS): number {
  const stop = searchStop(hist, levels);
  // outliers(kept) = counts at or past `kept`, kept running from the top down.
  const above = new Float64Array(hist.length + 1);
  for (let k = hist.length - 1; k >= 0; k--) above[k] = above[k + 1]! + hist[k]!;
  let best = stop;
  let bestKl = Infinity;
  for (let kept = levels; kept <= stop; kept++) {
    const kl = divergence(hist, kept, levels, above[kept]!);
    if (kl < bestKl) {
      bestKl = kl;
      best = kept;
    }
  }
  return best;
}

export function computeAmax(stats: TensorStats, algorithm: CalibAlgorithm, options: ThresholdOptions = {}): number {
  switch (algorithm) {
    case 'minmax':
      return minmaxAmax(stats);
    case 'percentile':
      return percentileAmax(stats, options.percentile ?? DEFAULT_PERCENTILE);
    case 'entropy':
      return entropyAmax(stats, options.levels ?? ENTROPY_LEVELS);
    case 'legacy-entropy':
      throw new TrtnError('ERR_UNSUPPORTED', "calibration algorithm 'legacy-entropy' (IInt8EntropyCalibrator) runs only inside TensorRT; use 'entropy' here");
    default:
      throw new TrtnError('ERR_INVALID_ARG', `unknown calibration algorithm ${JSON.stringify(algorithm)}`);
  }
}

/** int8 symmetric scale for an amax; an all-zero tensor gets a tiny positive scale (QuantizeLinear needs > 0). */
export function scaleFromAmax(amax: number): number {
  return Math.max(amax, 1e-30) / 127;
}
