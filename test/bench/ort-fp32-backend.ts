/**
 * A minimal FP32 ONNX Runtime backend for the runner tests while the library's own onnxruntime backend (quant
 * branch) has not landed: real inference on real models, no quantization (fp16/int8 answer ERR_UNSUPPORTED).
 */
import * as ort from 'onnxruntime-node';
import { TrtnError } from '../../lib/errors.js';
import type { Backend } from '../../lib/engine/backend.js';
import type { BenchmarkOptions, BenchmarkResult, Engine, Feeds, TensorData } from '../../lib/engine/types.js';
import { summarize } from '../../lib/bench/stats.js';

export const ortFp32Backend: Backend = {
  name: 'onnxruntime',
  async availability() {
    return { available: true };
  },
  recognises: () => true,
  async loadEngine() {
    throw new TrtnError('ERR_UNSUPPORTED', 'test backend cannot load engines');
  },
  async buildEngine(model, options) {
    if (options.precision !== 'fp32') throw new TrtnError('ERR_UNSUPPORTED', `test backend runs fp32 only, not ${options.precision}`);
    const bytes = typeof model === 'string' ? new Uint8Array(await (await import('node:fs/promises')).readFile(model)) : model;
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: options.session?.graphOptimization ?? 'all', intraOpNumThreads: 1 });
    const input = session.inputNames[0]!;
    const output = session.outputNames[0]!;
    const itemShape = [1, 28, 28];
    let disposed = false;
    const run = async (feeds: Feeds) => {
      const t = feeds[input]!;
      const out = await session.run({ [input]: new ort.Tensor('float32', t.data as Float32Array, [...t.dims]) });
      const o = out[output]!;
      return { [output]: { data: o.data as Float32Array, dims: [...o.dims], dtype: 'float32' } as TensorData };
    };
    const engine: Engine = {
      backend: 'onnxruntime',
      precision: 'fp32',
      path: `test-fp32 (${options.session?.graphOptimization ?? 'all'})`,
      inputs: [{ name: input, dtype: 'float32', shape: ['N', ...itemShape] }],
      outputs: [{ name: output, dtype: 'float32', shape: ['N', 10] }],
      infer: (feeds) => run(feeds),
      async benchmark(o: BenchmarkOptions): Promise<BenchmarkResult> {
        const rows = [];
        for (const batchSize of o.batchSizes) {
          const data = new Float32Array(batchSize * 784).fill(0.5);
          const feeds = { [input]: { data, dims: [batchSize, ...itemShape], dtype: 'float32' as const } };
          for (let i = 0; i < (o.warmup ?? 1); i++) await run(feeds);
          const samples: number[] = [];
          for (let i = 0; i < (o.iterations ?? 5); i++) {
            const t0 = performance.now();
            await run(feeds);
            samples.push(performance.now() - t0);
          }
          const latencyMs = summarize(samples);
          rows.push({ batchSize, iterations: samples.length, latencyMs, wallMs: latencyMs, throughput: (batchSize * 1000) / latencyMs.median });
        }
        return { backend: 'onnxruntime', precision: 'fp32', timer: 'host', transfers: false, rows };
      },
      serialize: () => bytes,
      async save() {},
      dispose() {
        if (!disposed) void session.release();
        disposed = true;
      },
      get disposed() {
        return disposed;
      },
      [Symbol.dispose]() {
        this.dispose();
      },
      async [Symbol.asyncDispose]() {
        this.dispose();
      },
    };
    return engine;
  },
};
