/**
 * A worker thread (or child process) owning one onnxruntime-node InferenceSession: requests run there one at a time,
 * in call order; the calling thread never computes. A thread host gets them through shared memory (channel.ts), a
 * process host as messages over its IPC channel.
 *
 * Why two hosts: onnxruntime-node 1.30 aborts the whole process when the thread running InferenceSession.run() is
 * stopped during the call (its N-API calls after the computation fail with napi_pending_exception, and its error path
 * throws a C++ exception out of Napi::Error::ThrowAsJavaScriptException: std::terminate). Node stops a thread's
 * worker threads when that thread is terminated or exits, before any hook can run, so a session in a worker thread
 * of a worker the user terminates can be stopped inside run(). A child process is not stopped with its owner: it
 * finishes the call and exits when the IPC channel closes. So an engine built inside a worker thread hosts its
 * session in a child process by default; one built on the main thread keeps a worker thread (lighter and faster),
 * and a process 'exit' listener holds process.exit() until no session is inside a call (see holdExitWhileBusy).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { isMainThread, Worker } from 'node:worker_threads';
import { TrtnError } from '../../errors.js';
import type { TensorData } from '../../engine/types.js';
import { WORKER_SOURCE } from './worker-source.js';
import { SharedChannel, plainFeeds, type HandoffOptions } from './channel.js';

export type SessionHostKind = 'thread' | 'process';

export interface OrtSessionOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where the session runs; default 'thread' on the main thread, 'process' inside a worker thread. */
  host?: SessionHostKind;
  /**
   * How ONNX Runtime's intra-op pool threads wait for work. false: they never spin (they sleep between parallel
   * sections too); true: ORT's default, they spin within a run and for a long while after it; 'in-run': they stop
   * spinning when a run ends (session.force_spinning_stop); a number (default DEFAULT_POOL_SPIN_US): an idle pool
   * thread spins that many microseconds before it sleeps (session.intra_op.spin_duration_us, ORT 1.26 and later), long
   * enough to be awake for the next of back-to-back calls, short enough to leave the cores to the hand-off and to other
   * work. Measured in bench/engine-overhead.mjs ('ort-spin', 'ort-in-run' and 'session').
   */
  spinning?: boolean | 'in-run' | number;
  /** Thread host: how long the session thread and the caller poll before sleeping between back-to-back calls. */
  handoff?: HandoffOptions;
  /** ONNX Runtime graph optimizers to turn off (session config optimization.disable_specified_optimizers). */
  disabledOptimizers?: readonly string[];
  /**
   * How the session's thread calls ONNX Runtime. 'binding' (default): synchronously, through the native binding under
   * onnxruntime-node's InferenceSession, with the same argument checks; when that binding does not have the shape
   * this package was written against, 'public' is used instead (see WorkerSession.ortCall). 'public': through
   * InferenceSession.run, which defers each run to the next turn of the thread's event loop (6-21 us a run at batch 1
   * and 8 in bench/results/engine-overhead.json).
   */
  ortCall?: OrtCall;
}

export type OrtCall = 'binding' | 'public';

/**
 * How long (us) an idle pool thread of an engine's session spins before it sleeps (OrtSessionOptions.spinning). 100:
 * in bench/results/engine-overhead.json it beat stopping at the end of each run ('ort-in-run') in 5 of 6 cells, the
 * sixth within noise (cnn batch 8: 0.095 against 0.133 ms a call); 50 and 200 us were no better in the same kind of
 * rounds.
 */
const DEFAULT_POOL_SPIN_US = 100;

/** The host a session gets when none is asked for (see the comment at the top of this file). */
export function defaultSessionHost(): SessionHostKind {
  return isMainThread ? 'thread' : 'process';
}

/** What WorkerSession needs of the thread or process it talks to (a Worker has exactly this shape). */
interface SessionHost {
  postMessage(msg: unknown): void;
  on(event: 'message' | 'error' | 'exit', fn: (...args: any[]) => void): unknown;
  off(event: 'message' | 'error' | 'exit', fn: (...args: any[]) => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** The session program in a child process, with a Worker's interface over the IPC channel. */
class ProcessHost extends EventEmitter implements SessionHost {
  readonly #child: ChildProcess;
  readonly #exited: Promise<number>;

  constructor(workerData: Record<string, unknown>) {
    super();
    // 'advanced' serialization carries typed arrays as they are, as a worker's postMessage does.
    const child = spawn(process.execPath, ['-e', WORKER_SOURCE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.emit('exit', code ?? 1);
        resolve(code ?? 1);
      });
      child.once('error', () => {
        if (child.pid === undefined) resolve(1); // could not start: no 'exit' follows
      });
    });
    child.on('message', (msg) => this.emit('message', msg));
    child.on('error', (err) => this.emit('error', err));
    this.postMessage(workerData);
  }

  postMessage(msg: unknown): void {
    if (this.#child.connected) this.#child.send(msg as object, (err) => err && this.emit('error', err));
  }

  ref(): void {
    this.#child.ref();
    (this.#child.channel as { ref?(): void } | null | undefined)?.ref?.();
  }

  unref(): void {
    this.#child.unref();
    (this.#child.channel as { unref?(): void } | null | undefined)?.unref?.();
  }

  terminate(): Promise<number> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.ref(); // an unref'd child would let the loop end before its exit is seen
      this.#child.kill();
    }
    return this.#exited;
  }
}

// Gates of this thread's thread-hosted sessions: 1 while the session thread may be inside ONNX Runtime, 0 idle,
// 2 closed (nothing starts any more). Set to 2 by holdExitWhileBusy.
const gates = new Set<Int32Array>();
const EXIT_WAIT_MS = 30_000;

/**
 * process 'exit' listener: wait until each session thread is between calls and close its gate, so that Node stops
 * it (right after this) outside InferenceSession.run(). Waits at most EXIT_WAIT_MS in all.
 */
function holdExitWhileBusy(): void {
  const deadline = Date.now() + EXIT_WAIT_MS;
  for (const gate of gates) {
    while (Atomics.compareExchange(gate, 0, 0, 2) === 1) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(gate, 0, 1, left);
    }
  }
}

function startHost(kind: SessionHostKind, workerData: Record<string, unknown>, channel: SharedChannel | undefined): SessionHost {
  if (kind === 'process' || !channel) return new ProcessHost(workerData);
  const gate = new Int32Array(new SharedArrayBuffer(4));
  gate[0] = 1; // starting: InferenceSession.create runs there
  if (!process.listeners('exit').includes(holdExitWhileBusy)) process.on('exit', holdExitWhileBusy);
  gates.add(gate);
  // The program is CommonJS text: an inherited --input-type=module would make the eval'd worker an ES module. (Only
  // then is execArgv given: an explicit one may not hold process-wide flags that the inherited one may.)
  const inputType = process.execArgv.some((a) => a.startsWith('--input-type'));
  const execArgv = inputType ? process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type') : undefined;
  const ends = channel.ends();
  const host = new Worker(WORKER_SOURCE, { eval: true, ...(execArgv ? { execArgv } : {}), workerData: { ...workerData, gate: gate.buffer, channel: ends }, transferList: [ends.port] });
  host.once('exit', () => gates.delete(gate));
  return host;
}

let ortPath: string | undefined;
/**
 * ONNX Runtime's own log level for our sessions: 4 (fatal only) unless TRTN_ORT_LOG_SEVERITY (0 verbose .. 4) says
 * otherwise. Every ORT failure already reaches the caller as a TrtnError carrying ORT's message, so its red log line
 * is a duplicate that reads like a second, unhandled failure.
 */
export function ortLogSeverity(): 0 | 1 | 2 | 3 | 4 {
  const n = Number(process.env.TRTN_ORT_LOG_SEVERITY);
  return process.env.TRTN_ORT_LOG_SEVERITY !== undefined && Number.isInteger(n) && n >= 0 && n <= 4 ? (n as 0 | 1 | 2 | 3 | 4) : 4;
}

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

/** A 'stats-add' request: see worker-source.ts. */
export interface StatisticsRequest {
  /** Outputs to fetch (the model exposes them); undefined: the model's outputs. */
  fetches: string[] | undefined;
  /** Tensors to histogram: fetched outputs or feeds. */
  tensors: readonly string[];
  bins: number;
  /** The addon file holding calibHistogramAdd. */
  kernel: string;
  /** Threads the kernel may bin a large tensor on (the session's own are idle meanwhile). */
  threads: number;
}

export interface StatisticsReply {
  runMs: number;
  statsMs: number;
  /** The first NaN or Inf met; statistics stop there. */
  nonFinite?: { tensor: string; index: number; value: number };
}

/** One tensor's statistics as the worker keeps them: state = [min, max, count, range]. */
export interface WorkerStatistics {
  name: string;
  state: Float64Array;
  bins: Float64Array;
}

interface Ready {
  inputNames: string[];
  outputNames: string[];
  ortCall: OrtCall;
}

/** Thrown by WorkerSession.open when ONNX Runtime rejects the model; keeps ORT's message for fallbacks. */
export class SessionInitError extends Error {}

export class WorkerSession {
  private readonly worker: SessionHost;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  /** Requests to a thread host travel here; a process host gets messages with ids (pending). */
  private readonly channel: SharedChannel | undefined;
  private inFlight = 0;
  readonly inputNames: string[];
  readonly outputNames: string[];

  /** Where this session runs. */
  readonly host: SessionHostKind;

  /** How its thread calls ONNX Runtime (OrtSessionOptions.ortCall): 'public' where the binding was not usable. */
  readonly ortCall: OrtCall;

  private constructor(worker: SessionHost, host: SessionHostKind, ready: Ready, channel: SharedChannel | undefined) {
    this.host = host;
    this.ortCall = ready.ortCall;
    this.worker = worker;
    this.inputNames = ready.inputNames;
    this.outputNames = ready.outputNames;
    this.channel = channel;
    channel?.bind(ready.inputNames, ready.outputNames);
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
      channel?.fail(this.failure);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`the ONNX Runtime worker exited (code ${code})`)));
  }

  /** Start a worker and create the session there from the model bytes. */
  static async open(model: Uint8Array, options: OrtSessionOptions = {}): Promise<WorkerSession> {
    const sessionOptions: Record<string, unknown> = { graphOptimizationLevel: options.graphOptimization ?? 'all', logSeverityLevel: ortLogSeverity() };
    if (options.intraOpThreads) sessionOptions.intraOpNumThreads = options.intraOpThreads;
    if (options.interOpThreads) sessionOptions.interOpNumThreads = options.interOpThreads;
    const extra: Record<string, unknown> = {};
    // A pool spinning long after a run keeps cores busy that the engine no longer uses (the caller's, other
    // sessions'); a pool asleep must be woken for the next run (25-45 us at the cnn's batch 8). A short spin pays neither.
    const spinning = options.spinning ?? DEFAULT_POOL_SPIN_US;
    if (spinning === false) extra.session = { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } };
    else if (spinning === 'in-run') extra.session = { force_spinning_stop: '1' };
    else if (typeof spinning === 'number') {
      if (!(Number.isFinite(spinning) && spinning >= 0)) throw new TrtnError('ERR_INVALID_ARG', `spinning must be true, false, 'in-run' or a number of microseconds >= 0, got ${spinning}`);
      extra.session = { intra_op: { spin_duration_us: String(Math.round(spinning)) } };
    }
    if (options.disabledOptimizers?.length) extra['optimization.disable_specified_optimizers'] = options.disabledOptimizers.join(';');
    if (Object.keys(extra).length > 0) sessionOptions.extra = extra;
    const kind = options.host ?? defaultSessionHost();
    const channel = kind === 'thread' ? new SharedChannel(options.handoff) : undefined;
    const worker = startHost(kind, { ortPath: resolveOrt(), model, sessionOptions, publicApi: options.ortCall === 'public' }, channel);
    const ready = await new Promise<Ready>((resolve, reject) => {
      const onMessage = (msg: { type?: string; message?: string; inputNames?: string[]; outputNames?: string[]; ortCall?: OrtCall }) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve({ inputNames: msg.inputNames!, outputNames: msg.outputNames!, ortCall: msg.ortCall! });
        } else if (msg.type === 'init-error') {
          cleanup();
          // The thread is gone when the build rejects: a failed build leaves nothing behind.
          void worker.terminate().catch(() => 0).then(() => reject(new SessionInitError(msg.message ?? 'unknown error')));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        void worker.terminate().catch(() => 0).then(() => reject(err));
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
    return new WorkerSession(worker, kind, ready, channel);
  }

  /** The host is ref'd while a request is in flight or queued, so an idle engine does not keep the process alive. */
  private async held<T>(send: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.inFlight++ === 0) this.worker.ref();
    try {
      return await send();
    } finally {
      if (--this.inFlight === 0) this.worker.unref();
    }
  }

  private request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.channel) return this.held(() => this.channel!.request(msg));
    return this.held(() => new Promise((resolve, reject) => {
      this.pending.set(this.nextId, { resolve, reject });
      // Feeds are copied (structured clone): the caller keeps its arrays.
      this.worker.postMessage({ id: this.nextId++, ...msg });
    }));
  }

  async run(feeds: Record<string, TensorData>, fetches?: string[]): Promise<Record<string, TensorData>> {
    // Feeds are copied (into shared memory or by structured clone): the caller keeps its arrays.
    if (this.channel) return this.held(() => this.channel!.run(feeds, fetches));
    const r = await this.request({ type: 'run', feeds: plainFeeds(feeds), ...(fetches ? { fetches } : {}) });
    return r.outputs as Record<string, TensorData>;
  }

  /** Milliseconds of each timed session.run, measured inside the worker. */
  async bench(feeds: Record<string, TensorData>, warmup: number, iterations: number): Promise<Float64Array> {
    const r = await this.request({ type: 'bench', feeds: plainFeeds(feeds), warmup, iterations });
    return r.times as Float64Array;
  }

  /** Run one batch and add the statistics of `request.tensors` inside the worker: only timings come back, no activations. */
  async addStatistics(feeds: Record<string, TensorData>, request: StatisticsRequest): Promise<StatisticsReply> {
    const { fetches, tensors, bins, kernel, threads } = request;
    return (await this.request({ type: 'stats-add', feeds: plainFeeds(feeds), ...(fetches ? { fetches } : {}), tensors: [...tensors], bins, kernel, threads })) as unknown as StatisticsReply;
  }

  /** The statistics added so far (the worker then starts over). */
  async takeStatistics(): Promise<WorkerStatistics[]> {
    return (await this.request({ type: 'stats-take' })).statistics as WorkerStatistics[];
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
