/**
 * Per-tensor calibration statistics: running min/max and a histogram of |x| over [0, range).
 * The range is set by the first batch with a non-zero value (its largest |x|, which lands in the last bin); when a
 * later batch's largest |x| exceeds it, the range first grows by the smallest power of two that covers it and bins
 * merge in groups of that factor (re-binning is exact: edges stay aligned), then the batch is binned. A batch with
 * a NaN or Inf changes nothing.
 * The addon's calibHistogramAdd (native/calib/histogram.cc) does this at a few ns per value, on several threads
 * for large tensors; the JavaScript below (addJs) does the same where the addon cannot load, and is what the
 * native kernel is tested against.
 */
import { TrtnError } from '../errors.js';
import { calibKernels } from './kernels.js';

export const DEFAULT_HISTOGRAM_BINS = 2048;

export interface TensorStatsJSON {
  name: string;
  min: number;
  max: number;
  count: number;
  range: number;
  bins: number[];
}

export function checkBinCount(binCount: number): void {
  if (!Number.isInteger(binCount) || binCount < 2) throw new TrtnError('ERR_INVALID_ARG', `histogram bins must be an integer >= 2, got ${binCount}`);
}

/** ERR_CALIB_DATA for a NaN or Inf `value` at `index` of `tensor` in calibration batch `batch`. */
export function nonFiniteError(tensor: string, value: number, index: number, batch: number): TrtnError {
  const what = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  return new TrtnError('ERR_CALIB_DATA', `tensor '${tensor}' has ${what} at index ${index} in calibration batch ${batch}`, { tensor, batch, index });
}

export class TensorStats {
  readonly name: string;
  min = Infinity;
  max = -Infinity;
  /** Values seen. */
  count = 0;
  /** Upper edge of the histogram; 0 until a non-zero value was seen (zeros still land in bin 0). */
  range = 0;
  /** Counts per bin of width range / bins.length; Float64 so counts stay exact past 2^32. */
  readonly bins: Float64Array;

  constructor(name: string, binCount = DEFAULT_HISTOGRAM_BINS) {
    checkBinCount(binCount);
    this.name = name;
    this.bins = new Float64Array(binCount);
  }

  get absMax(): number {
    return this.count === 0 ? 0 : Math.max(Math.abs(this.min), Math.abs(this.max));
  }

  /** Statistics accumulated elsewhere (a worker thread), as [min, max, count, range] and the bins. */
  static fromState(name: string, state: ArrayLike<number>, bins: ArrayLike<number>): TensorStats {
    const s = new TensorStats(name, bins.length);
    s.bins.set(bins);
    [s.min, s.max, s.count, s.range] = [state[0]!, state[1]!, state[2]!, state[3]!];
    return s;
  }

  /**
   * Add one batch of values. A NaN or Inf is an ERR_CALIB_DATA naming the tensor, `batch` and index, and leaves
   * the statistics as they were. `threads` > 1 lets the native kernel bin a large tensor on that many threads.
   */
  add(values: ArrayLike<number>, batch = 0, threads = 1): void {
    const native = values instanceof Float32Array ? calibKernels() : null;
    if (!native) return this.addJs(values, batch);
    const state = Float64Array.of(this.min, this.max, this.count, this.range);
    const bad = native.histogramAdd(values as Float32Array, this.bins, state, threads);
    if (bad >= 0) throw nonFiniteError(this.name, values[bad]!, bad, batch);
    [this.min, this.max, this.count, this.range] = state;
  }

  /** add() in JavaScript: the fallback without the addon, and the reference its kernel is tested against. */
  addJs(values: ArrayLike<number>, batch = 0): void {
    const n = values.length;
    if (n === 0) return;
    let largest = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      const a = v < 0 ? -v : v;
      if (!(a < Infinity)) throw nonFiniteError(this.name, v, i, batch);
      if (a > largest) largest = a;
    }
    if (largest > this.range) this.grow(largest);
    const bins = this.bins;
    const last = bins.length - 1;
    // Bin = float32(|x| * perUnit) with perUnit in float32 too, the arithmetic the native kernel vectorizes.
    const perUnit = this.range === 0 ? 0 : Math.fround(bins.length / this.range);
    let lo = this.min;
    let hi = this.max;
    // Zeros (half of every post-Relu tensor) are counted in a register: incrementing one bin back to back stalls.
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      const a = v < 0 ? -v : v;
      if (a === 0) {
        zeros++;
        continue;
      }
      let k = Math.fround(a * perUnit) | 0;
      if (k > last) k = last;
      bins[k]!++;
    }
    bins[0]! += zeros;
    this.min = lo;
    this.max = hi;
    this.count += n;
  }

  /** Grow the range by the smallest power of two that covers `needed` (which then falls in the last bin at worst), merging bins. */
  private grow(needed: number): void {
    if (this.range === 0) {
      this.range = needed;
      return;
    }
    let factor = 1;
    while (this.range * factor < needed) factor *= 2;
    const bins = this.bins;
    const merged = new Float64Array(bins.length);
    for (let k = 0; k < bins.length; k++) merged[Math.floor(k / factor)]! += bins[k]!;
    bins.set(merged);
    this.range *= factor;
  }

  toJSON(): TensorStatsJSON {
    return { name: this.name, min: this.min, max: this.max, count: this.count, range: this.range, bins: Array.from(this.bins) };
  }
}
