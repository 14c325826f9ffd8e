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
 *   largest |x|. The search runs on entropyHistogram(bins), where point masses are flattened (see there).
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

/** A bin is a point mass when its count lies more than this many standard deviations of Poisson noise above its local level. */
export const POINT_MASS_SIGMAS = 4;

/**
 * The histogram the entropy search sees: point masses flattened to the local density, then bin 0 counted as bin 1.
 *
 * A point mass (one value repeated many times: the zero of a post-Relu tensor, a channel's response to a constant
 * image background, zero padding's) fills one bin at any bin width, so there the histogram is no density. Q spreads
 * each group's count evenly over the group's bins, so a point mass costs about its mass * ln(bins per group) of
 * divergence at every candidate: the search then prefers the finest grid, i.e. the smallest amax, and clips hard,
 * although rounding a point mass costs no more than rounding its neighbours. Measured on the Fashion-MNIST models,
 * where the first quantized tensor (the Relu after the float first conv) holds one such spike per channel: 3% of its
 * non-zero values clipped, mobilenet_v1 -0.50 points (-7.6 with another calibration subset), vgg16 -0.18.
 * pytorch-quantization handles the largest one, the zero spike (bin 0 := bin 1); this extends it to every bin:
 * - the local level of bin k >= 1 is the second largest count among bins k-2, k-1, k+1, k+2 (those that exist,
 *   bin 0 excluded), so one neighbouring spike does not raise it (two adjacent spikes are both found);
 * - bin k is a point mass when its count lies far outside the Poisson noise of a bin expecting `level` counts:
 *   sqrt(count) - sqrt(level) > POINT_MASS_SIGMAS / 2 (the square root of a Poisson count has standard deviation
 *   about 1/2 at any mean, which keeps small counts in a sparse tail from being flagged by chance; with 4 sigmas,
 *   level 100 flags counts above 144, level 2 above 11); it is then set to the level. Noise peaks of a smooth
 *   histogram and isolated counts of a sparse tail (level 0: the bin is kept) stay as they are: the search must
 *   still weigh them, and the last non-empty bin does not move;
 * - near bin 1 only bins to the right exist, so a steeply falling start (bins 1-2 well above bin 3) is flattened
 *   too; that also catches a spike of tiny values in bin 1 (seen at 4x its neighbours on mobilenet_v1);
 * - bin 0 then counts as (flattened) bin 1.
 */
export function entropyHistogram(bins: ArrayLike<number>): Float64Array {
  const n = bins.length;
  const hist = new Float64Array(n);
  for (let k = 1; k < n; k++) {
    let first = 0;
    let level = 0;
    for (let j = k - 2; j <= k + 2; j++) {
      if (j === k || j < 1 || j >= n) continue;
      const v = bins[j]!;
      if (v > first) {
        level = first;
        first = v;
      } else if (v > level) level = v;
    }
    const v = bins[k]!;
    hist[k] = level > 0 && Math.sqrt(v) - Math.sqrt(level) > POINT_MASS_SIGMAS / 2 ? level : v;
  }
  hist[0] = n > 1 ? hist[1]! : (bins[0] ?? 0);
  return hist;
}

export function entropyAmax(stats: TensorStats, levels = ENTROPY_LEVELS): number {
  const bins = stats.bins;
  if (stats.range === 0) return stats.absMax;
  if (bins.length <= levels) return stats.absMax;
  // Point masses (the zero spike of post-Relu tensors first) would dominate the divergence: see entropyHistogram.
  const hist = entropyHistogram(bins);
  const kept = entropyKept(hist, levels);
  return Math.min((kept * stats.range) / bins.length, stats.absMax);
}

/** Bins kept by the entropy search on `hist` (after entropyHistogram): the smallest KL, the first on ties. */
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
