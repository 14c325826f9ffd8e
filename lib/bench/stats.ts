/** Summary statistics of timing samples and the study's two ratios (Eq. 19 and Eq. 20). */
import { TrtnError } from '../errors.js';

export { percentile, summarize } from '../engine/stats.js';

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
