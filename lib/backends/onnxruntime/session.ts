/** A worker thread owning one onnxruntime-node InferenceSession: requests queue there, the main thread never computes. */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TrtnError } from '../../errors.js';
import type { TensorData } from '../../engine/types.js';
import { WORKER_SOURCE } from './worker-source.js';

export interface OrtSessionOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** ONNX Runtime graph optimizers to turn off (session config optimization.disable_specified_optimizers). */
  disabledOptimizers?: readonly string[];
}

let ortPath: string | undefined;
/** Absolute path of onnxruntime-node's entry, or throws ERR_BACKEND_UNAVAILABLE. */
export function resolveOrt(): string {
  if (ortPath) return ortPath;
  try {
    ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    return ortPath;
  } catch (err) {
    throw new TrtnError('ERR_BACKEND_UNAVAILABLE', `onnxruntime-node is not installed: ${(err as Error).message}`, {}, { cause: err });
  }
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

/** Thrown by WorkerSession.open when ONNX Runtime rejects the model; keeps ORT's message for fallbacks. */
export class SessionInitError extends Error {}

export class WorkerSession {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  readonly inputNames: string[];
  readonly outputNames: string[];

  private constructor(worker: Worker, ready: { inputNames: string[]; outputNames: string[] }) {
    this.worker = worker;
    this.inputNames = ready.inputNames;
    this.outputNames = ready.outputNames;
    worker.on('message', (msg: { id?: number; ok?: boolean; message?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg as Record<string, unknown>);
      else p.reject(new Error(msg.message ?? 'unknown error'));
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`the ONNX Runtime worker exited (code ${code})`)));
  }

  /** Start a worker and create the session there from the model bytes. */
  static async open(model: Uint8Array, options: OrtSessionOptions = {}): Promise<WorkerSession> {
    const sessionOptions: Record<string, unknown> = { graphOptimizationLevel: options.graphOptimization ?? 'all' };
    if (options.intraOpThreads) sessionOptions.intraOpNumThreads = options.intraOpThreads;
    if (options.interOpThreads) sessionOptions.interOpNumThreads = options.interOpThreads;
    if (options.disabledOptimizers?.length) sessionOptions.extra = { 'optimization.disable_specified_optimizers': options.disabledOptimizers.join(';') };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: resolveOrt(), model, sessionOptions } });
    const ready = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      const onMessage = (msg: { type?: string; message?: string; inputNames?: string[]; outputNames?: string[] }) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve({ inputNames: msg.inputNames!, outputNames: msg.outputNames! });
        } else if (msg.type === 'init-error') {
          cleanup();
          void worker.terminate();
          reject(new SessionInitError(msg.message ?? 'unknown error'));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        void worker.terminate();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`the ONNX Runtime worker exited during start (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    worker.unref(); // an idle engine does not keep the process alive; requests ref it while they run
    return new WorkerSession(worker, ready);
  }

  private request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      const settle = () => {
        if (this.pending.size === 0) this.worker.unref();
      };
      this.pending.set(id, {
        resolve: (v) => {
          settle();
          resolve(v);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      // Feeds are copied (structured clone): the caller keeps its arrays.
      this.worker.postMessage({ id, ...msg });
    });
  }

  async run(feeds: Record<string, TensorData>, fetches?: string[]): Promise<Record<string, TensorData>> {
    const r = await this.request({ type: 'run', feeds: plainFeeds(feeds), ...(fetches ? { fetches } : {}) });
    return r.outputs as Record<string, TensorData>;
  }

  /** Milliseconds of each timed session.run, measured inside the worker. */
  async bench(feeds: Record<string, TensorData>, warmup: number, iterations: number): Promise<Float64Array> {
    const r = await this.request({ type: 'bench', feeds: plainFeeds(feeds), warmup, iterations });
    return r.times as Float64Array;
  }

  /** Release the session and end the thread (after queued requests, which the worker handles in order). */
  async close(): Promise<void> {
    try {
      if (!this.failure) await this.request({ type: 'close' });
    } finally {
      await this.worker.terminate();
    }
  }
}

function plainFeeds(feeds: Record<string, TensorData>): Record<string, { data: unknown; dims: number[]; dtype: string }> {
  const out: Record<string, { data: unknown; dims: number[]; dtype: string }> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = { data: t.data, dims: [...t.dims], dtype: t.dtype };
  return out;
}
