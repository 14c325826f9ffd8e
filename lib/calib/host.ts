/**
 * Where calibration runs the FP32 model. A host runs each batch with the needed tensors fetched and accumulates
 * their statistics in the thread that ran the model, so activations never cross threads and the main thread
 * only hands over batches. The ONNX Runtime backend provides the host (lib/backends/onnxruntime/statistics.ts)
 * and registers it when imported, as backends register with lib/engine/backend.ts: calibration does not depend
 * on a backend, a backend plugs into calibration.
 */
import { TrtnError } from '../errors.js';
import type { Feeds } from '../engine/types.js';
import type { TensorStats } from './histogram.js';

export interface StatisticsHostOptions {
  /** Tensors to take statistics of: graph inputs (from the feeds) and the model's outputs. */
  tensors: readonly string[];
  /** Histogram bins per tensor. */
  bins: number;
  intraOpThreads?: number;
}

export interface StatisticsHost {
  /**
   * Run one batch and add its statistics. Rejects with ERR_CALIB_DATA naming the batch when it does not run, and
   * the tensor, batch and index on a NaN or Inf. Seconds spent running the model and in statistics come back.
   */
  add(feeds: Feeds, batch: number): Promise<{ runSeconds: number; statsSeconds: number }>;
  /** Statistics so far, keyed by tensor. */
  statistics(): Promise<Map<string, TensorStats>>;
  close(): Promise<void>;
}

/** Opens a host on an ONNX model (bytes) whose outputs include every tensor asked for that is not a graph input. */
export type OpenStatisticsHost = (model: Uint8Array, options: StatisticsHostOptions) => Promise<StatisticsHost>;

let opener: OpenStatisticsHost | undefined;

export function setStatisticsHost(open: OpenStatisticsHost): void {
  opener = open;
}

export function openStatisticsHost(model: Uint8Array, options: StatisticsHostOptions): Promise<StatisticsHost> {
  if (!opener) {
    throw new TrtnError('ERR_BACKEND_UNAVAILABLE', "calibration runs the model with the 'onnxruntime' backend, which is not loaded (import 'tensorrt-node', or its backends/onnxruntime module)");
  }
  return opener(model, options);
}
