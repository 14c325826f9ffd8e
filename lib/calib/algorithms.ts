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
 *   entropyKeptReference does exactly this in O(bins) per candidate; entropyAmax runs entropyKeptFast, the same
 *   divergence rearranged to O(levels) per candidate (test/calib/entropy-search.test.ts holds them to one answer).
 */
import { TrtnError } from '../errors.js';
import type { CalibAlgorithm } from '../engine/options.js';
import type { TensorStats } from './histogram.js';

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
  return entropyKeptFast(hist, levels) ?? entropyKeptReference(hist, levels);
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

/** Largest smoothing shift over the smallest non-zero count for which the series below are used (integer counts give at most 2048e-4). */
const SERIES_RATIO = 0.25;
/** Most series terms: 0.25^30 is below 1e-18. */
const SERIES_TERMS = 30;

/**
 * The same search with O(levels) work per candidate. With N the total count, eps_p / eps_q the smoothing shifts of
 * P and Q, and the sums over bins where P is non-zero,
 *   KL = (1/N) [ sum (p - eps_p) ln(p - eps_p) - sum (p - eps_p) ln(q - eps_q) ] + ln(qs / N)
 * (the smoothed zeros, eps against eps, cancel; qs = sum of Q = the counts below `kept`). Q is constant inside a
 * group, so the second sum is one term per group, from prefix sums of counts and non-zero bins. The first sum
 * comes from prefix sums of p ln p, ln p + 1 and p^-r through the series
 *   (p - e) ln(p - e) = p ln p - e (ln p + 1) + sum_{n>=2} e^n / (n (n-1) p^(n-1)),
 * which needs e well below the smallest count: otherwise (fractional counts, very many bins) this returns
 * undefined and the reference runs. The last kept bin (which takes the outliers) is computed directly.
 */
export function entropyKeptFast(hist: Float64Array, levels: number): number | undefined {
  const n = hist.length;
  const stop = searchStop(hist, levels);
  const counts = new Float64Array(n + 1); // prefix sums over bins [0, k): counts and non-zero bins
  const nonZero = new Float64Array(n + 1);
  let minPositive = Infinity;
  for (let k = 0; k < n; k++) {
    const h = hist[k]!;
    counts[k + 1] = counts[k]! + h;
    nonZero[k + 1] = nonZero[k]! + (h > 0 ? 1 : 0);
    if (h > 0 && h < minPositive && k < stop) minPositive = h;
  }
  const above = new Float64Array(n + 1);
  for (let k = n - 1; k >= 0; k--) above[k] = above[k + 1]! + hist[k]!;
  const total = above[0]!;
  // Smoothing shifts of P and Q per candidate (NaN where the divergence is undefined), and the series length
  // their largest ratio to the smallest count needs for 1e-18.
  const shiftP = new Float64Array(stop + 1);
  const shiftQ = new Float64Array(stop + 1);
  let largest = 0;
  for (let kept = levels; kept <= stop; kept++) {
    const last = kept - 1;
    const pLast = hist[last]! + above[kept]!;
    const nzp = nonZero[last]! + (pLast > 0 ? 1 : 0);
    const lastStart = (levels - 1) * Math.floor(kept / levels);
    const zq = kept - nzp + (counts[kept]! === counts[lastStart]! && pLast > 0 ? 1 : 0);
    shiftP[kept] = nzp === 0 ? NaN : (SMOOTHING * (kept - nzp)) / nzp;
    shiftQ[kept] = zq === kept ? NaN : (SMOOTHING * zq) / (kept - zq);
    if (nzp > 0 && zq < kept) largest = Math.max(largest, shiftP[kept]!, shiftQ[kept]!);
  }
  const ratio = largest / minPositive;
  if (!(ratio <= SERIES_RATIO)) return undefined;
  const terms = ratio === 0 ? 1 : Math.min(SERIES_TERMS, Math.ceil(Math.log(1e-18) / Math.log(ratio)));
  // Prefix sums of p ln p, ln p + 1 and p^-r (r = 1 .. terms - 1) over the non-zero bins.
  const pLogP = new Float64Array(n + 1);
  const logP1 = new Float64Array(n + 1);
  const inv = new Float64Array(Math.max(terms - 1, 0) * (n + 1)); // inv[(r - 1) * (n + 1) + k]
  for (let k = 0; k < n; k++) {
    const h = hist[k]!;
    const lh = h > 0 ? Math.log(h) : 0;
    pLogP[k + 1] = pLogP[k]! + (h > 0 ? h * lh : 0);
    logP1[k + 1] = logP1[k]! + (h > 0 ? lh + 1 : 0);
    const reciprocal = h > 0 ? 1 / h : 0;
    let power = 1;
    for (let r = 1; r < terms; r++) {
      power *= reciprocal;
      inv[(r - 1) * (n + 1) + k + 1] = inv[(r - 1) * (n + 1) + k]! + power;
    }
  }
  const logEps = Math.log(SMOOTHING);
  const series = new Float64Array(terms + 2);
  let groupWidth = 0;
  let best = stop;
  let bestKl = Infinity;
  for (let kept = levels; kept <= stop; kept++) {
    const ep = shiftP[kept]!;
    const eq = shiftQ[kept]!;
    if (Number.isNaN(ep) || Number.isNaN(eq)) continue;
    const last = kept - 1;
    const pLast = hist[last]! + above[kept]!;
    // sum (p - ep) ln(p - ep) over the non-zero bins below `last` by the series, then the last bin directly
    let a = pLogP[last]! - ep * logP1[last]!;
    let e = ep;
    for (let r = 1; r < terms; r++) {
      e *= ep;
      a += (e / ((r + 1) * r)) * inv[(r - 1) * (n + 1) + last]!;
    }
    if (pLast > 0) a += (pLast - ep) * Math.log(pLast - ep);
    const m = Math.floor(kept / levels);
    if (m !== groupWidth) {
      groupWidth = m;
      groupSeries(counts, nonZero, m, levels - 1, series);
    }
    // sum (p - ep) ln(q - eq): the groups before the last through groupSeries, the last one directly
    let b = series[0]! - ep * series[1]!;
    let eqPower = 1;
    for (let r = 1; r < terms; r++) {
      eqPower *= eq;
      b -= (eqPower / r) * (series[r + 1]! - ep * series[r + 2]!);
    }
    const lastStart = (levels - 1) * m;
    const lastSum = counts[kept]! - counts[lastStart]!;
    const lastNz = nonZero[last]! - nonZero[lastStart]! + (pLast > 0 ? 1 : 0);
    if (lastNz > 0) b += lastSum > 0 ? (lastSum + above[kept]! - lastNz * ep) * Math.log(lastSum / lastNz - eq) : (pLast - ep) * logEps;
    const kl = (a - b) / total + Math.log(counts[kept]! / total);
    if (kl < bestKl) {
      bestKl = kl;
      best = kept;
    }
  }
  return best;
}

/**
 * For the first `groups` groups of `width` bins (each with count sum S and nz non-zero bins, c = S / nz):
 * out = [sum S ln c, sum nz ln c, W_0, W_1, ...] with W_r = sum nz c^-r, so that for shifts ep and eq
 *   sum (S - nz ep) ln(c - eq) = out[0] - ep out[1] - sum_{r>=1} eq^r / r (W_(r-1) - ep W_r).
 */
function groupSeries(counts: Float64Array, nonZero: Float64Array, width: number, groups: number, out: Float64Array): void {
  out.fill(0);
  for (let j = 0, start = 0; j < groups; j++, start += width) {
    const nz = nonZero[start + width]! - nonZero[start]!;
    if (nz === 0) continue;
    const sum = counts[start + width]! - counts[start]!;
    const c = sum / nz;
    const lc = Math.log(c);
    out[0]! += sum * lc;
    out[1]! += nz * lc;
    const reciprocal = 1 / c;
    let w = nz;
    for (let r = 0; r + 2 < out.length; r++) {
      out[r + 2]! += w;
      w *= reciprocal;
    }
  }
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
