/**
 * Per-channel statistics of activations (mean and max |x|) for the rewrites that need data: bias correction
 * (channel means of a layer's input) and smoothing (channel ranges of a Gemm/MatMul input). The model runs in an
 * ONNX Runtime worker (WorkerSession), never on the calling thread; the fetched tensors are reduced here.
 */
import { TrtnError } from '../errors.js';
import type { Batch, DataSource } from '../data/types.js';
import { toBatches } from '../data/source.js';
import { exposeTensors } from '../onnx/expose.js';
import { feedInputs } from '../onnx/graph.js';
import { serializeModel } from '../onnx/io.js';
import type { OnnxModel } from '../onnx/model.js';
import { WorkerSession } from '../backends/onnxruntime/session.js';

export interface ChannelStats {
  mean: Float64Array;
  absMax: Float64Array;
}

export interface ChannelRequest {
  tensor: string;
  /** Channel axis: 1 (NCHW, [N, features]) or -1 (the last axis, a MatMul's [.., T, C] input). */
  axis: number;
}

/** Channel statistics of each requested tensor (graph inputs or node outputs) over `batches`. */
export async function channelStatistics(model: OnnxModel, requests: readonly ChannelRequest[], batches: readonly Batch[], options: { intraOpThreads?: number; signal?: AbortSignal } = {}): Promise<Map<string, ChannelStats>> {
  const inputs = new Set(feedInputs(model.graph).map((v) => v.name));
  const names = [...new Set(requests.map((r) => r.tensor))];
  const exposed = exposeTensors(model, names.filter((t) => !inputs.has(t)));
  const session = await WorkerSession.open(serializeModel(exposed), { graphOptimization: 'all', spinning: false, ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}) });
  const sums = new Map<string, { sum: Float64Array; max: Float64Array; count: number }>();
  try {
    for (const [b, batch] of batches.entries()) {
      if (options.signal?.aborted) throw new TrtnError('ERR_ABORTED', 'quantization was aborted');
      const fetched = await session.run(batch.feeds, names.filter((t) => !inputs.has(t)));
      for (const r of requests) {
        const t = batch.feeds[r.tensor] ?? fetched[r.tensor];
        if (!t || t.dtype !== 'float32') throw new TrtnError('ERR_CALIB_DATA', `channel statistics: tensor '${r.tensor}' is missing or not float32 at batch ${b}`, { tensor: r.tensor, batch: b });
        const dims = t.dims;
        const axis = r.axis < 0 ? dims.length - 1 : r.axis;
        const channels = dims[axis]!;
        const outer = dims.slice(0, axis).reduce((x, y) => x * y, 1);
        const inner = dims.slice(axis + 1).reduce((x, y) => x * y, 1);
        let s = sums.get(r.tensor);
        if (!s) sums.set(r.tensor, (s = { sum: new Float64Array(channels), max: new Float64Array(channels), count: 0 }));
        const data = t.data as Float32Array;
        for (let o = 0; o < outer; o++)
          for (let c = 0; c < channels; c++) {
            const base = (o * channels + c) * inner;
            let sum = 0;
            let max = s.max[c]!;
            for (let k = 0; k < inner; k++) {
              const v = data[base + k]!;
              sum += v;
              const a = Math.abs(v);
              if (a > max) max = a;
            }
            s.sum[c]! += sum;
            s.max[c] = max;
          }
        s.count += outer * inner;
      }
    }
  } finally {
    await session.close();
  }
  const out = new Map<string, ChannelStats>();
  for (const [t, s] of sums) out.set(t, { mean: s.sum.map((v) => v / Math.max(1, s.count)), absMax: s.max });
  return out;
}

/** The first `limit` items of `data` as batches of `batchSize`, read once so every pass of the pipeline sees the same images. */
export async function readBatches(data: DataSource, inputName: string, batchSize: number, limit: number | undefined, signal?: AbortSignal): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of toBatches(data, { inputName, batchSize, ...(limit !== undefined ? { limit } : {}), signal })) out.push(b);
  if (out.length === 0) throw new TrtnError('ERR_CALIB_DATA', 'the calibration data source produced no batches');
  return out;
}
