/**
 * The 'remote' backend: an Engine whose infer() and benchmark() go over the Open Inference Protocol (KServe v2,
 * HTTP/REST, binary tensor data) to a model served by `trt-node serve`, Triton or any compliant server.
 * loadEngine('http://host:8000/v2/models/name[/versions/v]', { backend: 'remote' }). Importing this module registers it.
 */
import { TrtnError } from '../../errors.js';
import { registerBackend, type Backend, type ModelSource } from '../../engine/backend.js';
import { Lifecycle } from '../../engine/lifecycle.js';
import type { LoadOptions } from '../../engine/options.js';
import { latencyStats } from '../../engine/stats.js';
import type {
  BenchmarkOptions, BenchmarkResult, BenchmarkRow, Engine, Feeds, InferOptions, TensorData, TensorInfo,
} from '../../engine/types.js';
import { dtypeOfProtocol, SERVED_DTYPES } from '../../serve/dtypes.js';
import { BINARY_HEADER, decodeInferResponse, encodeInferRequest } from '../../serve/protocol.js';
import { benchmarkSettings, inferInChunks, syntheticFeed, validateFeeds } from '../../engine/feeds.js';

const MODEL_URL = /^(https?:\/\/[^/?#]+)\/v2\/models\/([^/?#]+)(?:\/versions\/([^/?#]+))?\/?$/;

/** True for a string that names a model endpoint of the protocol (what loadEngine routes to this backend). */
export const isModelUrl = (source: unknown): source is string => typeof source === 'string' && /^https?:\/\//.test(source);

interface Metadata {
  name: string;
  platform?: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

async function request(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new TrtnError('ERR_ABORTED', `${what} aborted`);
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new TrtnError('ERR_INFERENCE', `${what}: cannot reach ${url}: ${cause}`, { url }, { cause: err });
  }
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const e = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof e === 'string') return e;
  } catch {
    // not the protocol's error shape: show the raw text
  }
  return text.slice(0, 200) || res.statusText;
}

export class RemoteEngine implements Engine {
  readonly backend = 'remote' as const;
  /** The protocol does not report how the server realised the model; 'best' stands for "as served". */
  readonly precision = 'best' as const;
  readonly path: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly url: string;
  readonly #lifecycle: Lifecycle;

  private constructor(url: string, meta: Metadata) {
    this.url = url;
    this.path = `remote (Open Inference Protocol, ${meta.platform ?? 'unknown platform'})`;
    const info = (t: Metadata['inputs'][number]): TensorInfo => {
      const dtype = dtypeOfProtocol(t.datatype);
      if (!dtype) throw new TrtnError('ERR_UNSUPPORTED', `${url}: tensor '${t.name}' is ${t.datatype}, which the engine API cannot carry`, { tensor: t.name });
      return { name: t.name, dtype, shape: t.shape };
    };
    this.inputs = meta.inputs.map(info);
    this.outputs = meta.outputs.map(info);
    this.#lifecycle = new Lifecycle(`remote engine '${url}'`, () => undefined);
  }

  /** Read the model's metadata from `url` (…/v2/models/<name>[/versions/<v>]). */
  static async connect(url: string): Promise<RemoteEngine> {
    const m = MODEL_URL.exec(url);
    if (!m) throw new TrtnError('ERR_INVALID_ARG', `'${url}' is not a model URL of the Open Inference Protocol (http://host:port/v2/models/<name>[/versions/<v>])`, { url });
    const base = url.replace(/\/$/, '');
    const res = await request(base, { method: 'GET' }, 'model metadata').catch((err: TrtnError) => {
      throw new TrtnError('ERR_ENGINE_LOAD', err.message, { url }, { cause: err });
    });
    if (!res.ok) throw new TrtnError('ERR_ENGINE_LOAD', `${url}: model metadata request failed with HTTP ${res.status}: ${await errorOf(res)}`, { url, status: res.status });
    let meta: Metadata;
    try {
      meta = (await res.json()) as Metadata;
    } catch (err) {
      throw new TrtnError('ERR_ENGINE_LOAD', `${url}: model metadata is not JSON: ${(err as Error).message}`, { url });
    }
    const tensors = (v: unknown): boolean => Array.isArray(v) && v.every((t) => typeof t?.name === 'string' && typeof t?.datatype === 'string' && Array.isArray(t?.shape));
    if (!tensors(meta.inputs) || !tensors(meta.outputs)) throw new TrtnError('ERR_ENGINE_LOAD', `${url}: model metadata lacks inputs/outputs with name, datatype and shape`, { url });
    return new RemoteEngine(base, meta);
  }

  get disposed(): boolean {
    return this.#lifecycle.disposed;
  }

  async #inferOnce(feeds: Feeds, signal?: AbortSignal): Promise<Record<string, TensorData>> {
    const { body, headerLength } = encodeInferRequest(feeds, this.outputs.map((o) => o.name));
    const res = await request(`${this.url}/infer`, {
      method: 'POST', body, signal,
      headers: { 'content-type': 'application/octet-stream', [BINARY_HEADER]: String(headerLength) },
    }, 'infer');
    if (!res.ok) throw new TrtnError('ERR_INFERENCE', `${this.url}: inference failed with HTTP ${res.status}: ${await errorOf(res)}`, { url: this.url, status: res.status });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return decodeInferResponse(bytes, res.headers.get(BINARY_HEADER) ?? undefined, this.url);
  }

  infer(feeds: Feeds, options: InferOptions = {}): Promise<Record<string, TensorData>> {
    return this.#lifecycle.track('infer', async () => {
      validateFeeds(feeds, this.inputs);
      return inferInChunks(feeds, options, this.outputs, (chunk) => this.#inferOnce(chunk, options.signal));
    });
  }

  /** Sequential requests per batch size, timed on this host's clock: latency includes the network and the server. */
  benchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
    return this.#lifecycle.track('benchmark', async () => {
      const { batchSizes, warmup, iterations, signal, onProgress } = benchmarkSettings(options);
      const rows: BenchmarkRow[] = [];
      for (const [step, batchSize] of batchSizes.entries()) {
        if (signal?.aborted) throw new TrtnError('ERR_ABORTED', `benchmark aborted before batch ${batchSize}`);
        const feeds: Feeds = {};
        for (const i of this.inputs) feeds[i.name] = syntheticFeed(i, batchSize);
        onProgress?.({ phase: `benchmark batch ${batchSize}`, step, steps: batchSizes.length });
        for (let i = 0; i < warmup; i++) await this.#inferOnce(feeds, signal);
        const times: number[] = [];
        for (let i = 0; i < iterations; i++) {
          const t0 = performance.now();
          await this.#inferOnce(feeds, signal);
          times.push(performance.now() - t0);
        }
        const wallMs = latencyStats(times);
        rows.push({ batchSize, iterations, latencyMs: wallMs, wallMs, throughput: (batchSize * 1000) / wallMs.median });
      }
      onProgress?.({ phase: 'benchmark', step: batchSizes.length, steps: batchSizes.length });
      return { backend: 'remote', precision: this.precision, timer: 'host', transfers: true, rows };
    });
  }

  serialize(): Uint8Array {
    this.#lifecycle.assertLive('serialize');
    throw new TrtnError('ERR_UNSUPPORTED', `a remote engine (${this.url}) has no serialized form here; export from the engine the server loaded`);
  }

  async save(path: string): Promise<void> {
    this.#lifecycle.assertLive('save');
    throw new TrtnError('ERR_UNSUPPORTED', `a remote engine (${this.url}) cannot be saved to '${path}'`, { file: path });
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

export const remoteBackend: Backend = {
  name: 'remote',
  dtypes: SERVED_DTYPES,
  async availability() {
    return { available: true, info: { protocol: 'Open Inference Protocol (KServe v2) HTTP/REST' } };
  },
  async buildEngine() {
    throw new TrtnError('ERR_UNSUPPORTED', "the 'remote' backend serves engines built elsewhere: build locally, exportModelRepository, then serve");
  },
  async loadEngine(source: ModelSource, _options: LoadOptions): Promise<Engine> {
    if (!isModelUrl(source)) throw new TrtnError('ERR_INVALID_ARG', "backend 'remote' loads a model URL such as http://127.0.0.1:8000/v2/models/<name>");
    return RemoteEngine.connect(source);
  },
  recognises: () => false,
};

registerBackend(remoteBackend);
