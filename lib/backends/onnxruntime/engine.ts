/** Engine over an ONNX Runtime session living in a worker thread. */
import { writeFile } from 'node:fs/promises';
import { TrtnError, asTrtnError } from '../../errors.js';
import { Lifecycle } from '../../engine/lifecycle.js';
import type {
  BenchmarkOptions, BenchmarkResult, BenchmarkRow, Engine, Feeds, InferOptions, Precision, TensorData, TensorInfo,
} from '../../engine/types.js';
import { feedInputs } from '../../onnx/graph.js';
import type { OnnxModel, OnnxValueInfo } from '../../onnx/model.js';
import { dataTypeName, dataTypeToDType } from '../../onnx/tensor.js';
import type { WorkerSession } from './session.js';
import { latencyStats } from '../../engine/stats.js';
import { benchmarkSettings, inferInChunks, syntheticFeed, validateFeeds } from '../../engine/feeds.js';

export function tensorInfo(v: OnnxValueInfo): TensorInfo {
  const tt = v.type?.tensorType;
  const dtype = tt ? dataTypeToDType(tt.elemType) : undefined;
  const kind = tt ? dataTypeName(tt.elemType) : `a ${Object.keys(v.type ?? {}).join('/') || 'typeless value'}`;
  if (!dtype) throw new TrtnError('ERR_ONNX_MODEL', `tensor '${v.name}' is ${kind}, which the engine API cannot carry`, { tensor: v.name });
  return { name: v.name, dtype, shape: (tt!.shape ?? []).map((d) => (d === null ? -1 : d)) };
}

export function modelIO(model: OnnxModel): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  return { inputs: feedInputs(model.graph).map(tensorInfo), outputs: model.graph.outputs.map(tensorInfo) };
}


export class OnnxRuntimeEngine implements Engine {
  readonly backend = 'onnxruntime' as const;
  readonly precision: Precision;
  readonly path: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly #bytes: Uint8Array;
  readonly #session: WorkerSession;
  readonly #lifecycle: Lifecycle;

  constructor(init: { precision: Precision; path: string; model: OnnxModel; bytes: Uint8Array; session: WorkerSession; name?: string }) {
    this.precision = init.precision;
    this.path = init.path;
    const io = modelIO(init.model);
    this.inputs = io.inputs;
    this.outputs = io.outputs;
    this.#bytes = init.bytes;
    this.#session = init.session;
    const session = init.session;
    this.#lifecycle = new Lifecycle(`engine '${init.name ?? init.model.graph.name}' (onnxruntime, ${init.precision})`, () => session.close());
    this.#lifecycle.finalizeWith(this);
  }

  get disposed(): boolean {
    return this.#lifecycle.disposed;
  }

  infer(feeds: Feeds, options: InferOptions = {}): Promise<Record<string, TensorData>> {
    return this.#lifecycle.track('infer', async () => {
      validateFeeds(feeds, this.inputs);
      return inferInChunks(feeds, options, this.outputs, async (chunk, start, end) => {
        try {
          return await this.#session.run(chunk);
        } catch (err) {
          throw asTrtnError(err, 'ERR_INFERENCE', `ONNX Runtime inference failed (rows ${start}..${end - 1})`);
        }
      });
    });
  }

  benchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
    return this.#lifecycle.track('benchmark', async () => {
      const { batchSizes, warmup, iterations, signal, onProgress } = benchmarkSettings(options);
      const rows: BenchmarkRow[] = [];
      for (const [step, batchSize] of batchSizes.entries()) {
        if (signal?.aborted) throw new TrtnError('ERR_ABORTED', `benchmark aborted before batch ${batchSize}`);
        const fixed = this.inputs.some((i) => typeof i.shape[0] === 'number' && (i.shape[0] as number) > 0 && i.shape[0] !== batchSize);
        if (fixed) throw new TrtnError('ERR_SHAPE', `the model's batch dimension is fixed at ${this.inputs[0]!.shape[0]}; cannot benchmark batch ${batchSize}`, { tensor: this.inputs[0]!.name });
        const feeds: Feeds = {};
        for (const i of this.inputs) feeds[i.name] = syntheticFeed(i, batchSize);
        onProgress?.({ phase: `benchmark batch ${batchSize}`, step, steps: batchSizes.length });
        let times: Float64Array;
        try {
          times = await this.#session.bench(feeds, warmup, iterations);
        } catch (err) {
          throw asTrtnError(err, 'ERR_INFERENCE', `ONNX Runtime benchmark failed at batch ${batchSize}`);
        }
        const samples = Array.from(times);
        const wallMs = latencyStats(samples);
        rows.push({ batchSize, iterations, latencyMs: wallMs, wallMs, throughput: (batchSize * 1000) / wallMs.median, latencySamplesMs: samples });
      }
      onProgress?.({ phase: 'benchmark', step: batchSizes.length, steps: batchSizes.length });
      return { backend: 'onnxruntime', precision: this.precision, timer: 'host', transfers: false, rows };
    });
  }

  serialize(): Uint8Array {
    this.#lifecycle.assertLive('serialize');
    return this.#bytes.slice();
  }

  async save(path: string): Promise<void> {
    this.#lifecycle.assertLive('save');
    try {
      await writeFile(path, this.#bytes);
    } catch (err) {
      throw new TrtnError('ERR_IO', `cannot write engine to '${path}': ${(err as Error).message}`, { file: path });
    }
  }

  dispose(): void {
    this.#lifecycle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#lifecycle.disposeAsync();
  }
}
