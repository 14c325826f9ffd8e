/**
 * The addon's calibration kernels (native/calib): the statistics pass over each tensor and the entropy threshold
 * search. Plain arrays in, numbers out. Where the addon cannot load (or predates them) callers use the JavaScript
 * they are tested against: TensorStats.addJs and entropyKeptReference.
 */
import { nativeAddonFile, tryNativeAddon } from '../native/addon.js';

export interface CalibKernels {
  /**
   * Updates `bins` and `state` = [min, max, count, range] as TensorStats.add does, binning on up to `threads`
   * threads; -1, or the index of the first NaN/Inf (then nothing is changed).
   */
  histogramAdd(values: Float32Array, bins: Float64Array, state: Float64Array, threads?: number): number;
  /** Bins kept by the entropy search over `hist` (already through entropyHistogram); -1 where the reference must run. */
  entropyKept(hist: Float64Array, levels: number): number;
  /** The .node file, for a worker thread to load the same kernels. */
  file: string;
}

let kernels: CalibKernels | null | undefined;

export function calibKernels(): CalibKernels | null {
  if (kernels === undefined) {
    const addon = tryNativeAddon().addon;
    const file = nativeAddonFile();
    const { calibHistogramAdd, calibEntropyKept } = (addon ?? {}) as Record<string, unknown>;
    kernels =
      file && typeof calibHistogramAdd === 'function' && typeof calibEntropyKept === 'function'
        ? { histogramAdd: calibHistogramAdd as CalibKernels['histogramAdd'], entropyKept: calibEntropyKept as CalibKernels['entropyKept'], file }
        : null;
  }
  return kernels;
}
