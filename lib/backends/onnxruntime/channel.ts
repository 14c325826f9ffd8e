/**
 * The calling thread's half of the shared-memory channel to a session thread (the other half is in worker-source.ts).
 *
 * Why: a postMessage round trip wakes two event loops and clones every tensor; measured on a 2-core machine it
 * cost 60-140 us per engine.infer (bench/engine-overhead.mjs). Here the session thread sleeps in Atomics.wait on a
 * request counter (no CPU while idle), the caller writes the feeds into shared memory and notifies, and awaits the
 * reply with Atomics.waitAsync, so its event loop is never blocked.
 *
 * Each of those sleeps costs a thread wake-up per call (bench/engine-overhead.mjs splits the cost by variant)
 * while calls come back to back, so both sides first poll for a short while (HandoffOptions): the session thread spins
 * for the next request when the last one followed its reply within the spin window, and the caller, when the last
 * reply came within the poll window, polls from its event loop (setImmediate: other callbacks still run) before
 * sleeping. Neither polls for a caller that calls now and then.
 *
 * Layout: `control` holds 4 Int32 words (REQ: requests sent, ACK: requests answered, the request kind, the reply
 * kind) and a header of tensor records [name index, dtype code, rank, byte offset, byte length, ...dims]; `data`
 * holds the tensors' bytes, each at an 8-byte aligned offset. A 'run' of numeric tensors that fit travels there
 * (kind SHARED); everything else (other requests, string tensors, named fetches, outputs too large, errors) is a
 * structured-clone message on a MessagePort read synchronously with receiveMessageOnPort (kind PORT).
 * One request is in flight at a time; later ones queue here in call order.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ARRAY_CLASS_OF, type DType, type TensorData, type TypedArray } from '../../engine/types.js';

export const REQ = 0;
export const ACK = 1;
export const REQUEST_KIND = 2;
export const REPLY_KIND = 3;
export const SHARED = 0;
export const PORT = 1;
export const CONTROL_WORDS = 4;
/** Header Int32 words: enough for dozens of tensors; a request needing more goes by message. */
export const HEADER_WORDS = 1024;
export const RECORD = 5;
/** The shared data region starts at 1 MiB and grows (replaced by a larger one) up to MAX_DATA_BYTES. */
const INITIAL_DATA_BYTES = 1 << 20;
const MAX_DATA_BYTES = 1 << 28;

/** dtype codes in the header: the index in this list (shared with the worker's program). */
export const SHARED_DTYPES = Object.keys(ARRAY_CLASS_OF) as Exclude<DType, 'string'>[];

// In Node since 16 (V8 8.7); the TypeScript lib this project compiles against predates its typing.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: unknown } }).waitAsync;

const align8 = (n: number) => (n + 7) & ~7;

/** What the session thread needs to open its half: send it in workerData with `port` in the transfer list. */
export interface ChannelEnds {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  port: MessagePort;
  /** HandoffOptions.spinUs */
  spinUs: number;
}

/** How long each side polls before sleeping (microseconds; 0: never). */
export interface HandoffOptions {
  /** The session thread, for the next request (only while requests follow replies within this time). Default 200. */
  spinUs?: number;
  /** The caller, for a reply (only while replies come within this time). Default 300. */
  pollUs?: number;
}

const DEFAULT_HANDOFF: Required<HandoffOptions> = { spinUs: 200, pollUs: 300 };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class SharedChannel {
  readonly #control = new SharedArrayBuffer(4 * (CONTROL_WORDS + HEADER_WORDS));
  readonly #ctl = new Int32Array(this.#control, 0, CONTROL_WORDS);
  readonly #header = new Int32Array(this.#control, 4 * CONTROL_WORDS, HEADER_WORDS);
  #data = new SharedArrayBuffer(INITIAL_DATA_BYTES);
  #byteView: Uint8Array | undefined;
  readonly #port: MessagePort;
  readonly #remote: MessagePort;
  #seq = 0;
  readonly #pollMs: number;
  readonly #spinUs: number;
  /** The last request's round trip (ms): the caller polls only while replies come within the poll window. */
  #lastMs = Infinity;
  #tail: Promise<unknown> = Promise.resolve();
  #failure: Error | undefined;
  #inputs = new Map<string, number>();
  #outputNames: readonly string[] = [];

  constructor(handoff: HandoffOptions = {}) {
    this.#pollMs = (handoff.pollUs ?? DEFAULT_HANDOFF.pollUs) / 1000;
    this.#spinUs = handoff.spinUs ?? DEFAULT_HANDOFF.spinUs;
    const { port1, port2 } = new MessageChannel();
    port1.unref(); // read only with receiveMessageOnPort: it must not keep the process alive
    this.#port = port1;
    this.#remote = port2;
  }

  /** The session's input and output names, in the order the header's name indexes refer to (once it is ready). */
  bind(inputNames: readonly string[], outputNames: readonly string[]): void {
    this.#inputs = new Map(inputNames.map((n, i) => [n, i]));
    this.#outputNames = outputNames;
  }

  /** The session thread's end (once, before the first request). */
  ends(): ChannelEnds {
    return { control: this.#control, data: this.#data, port: this.#remote, spinUs: this.#spinUs };
  }

  /** The session thread is gone: the request in flight and all queued ones reject with `err`. */
  fail(err: Error): void {
    this.#failure ??= err;
    Atomics.notify(this.#ctl, ACK); // wakes the waitAsync of the request in flight
    // The port stays open: a thread that answered 'close' and exited at once may be reported gone before the caller
    // has read that answer, and closing the port would drop it (it is unref'd, so it holds nothing open).
  }

  /** A run: through shared memory when its tensors fit, else as a message. */
  run(feeds: Record<string, TensorData>, fetches?: string[]): Promise<Record<string, TensorData>> {
    return this.#enqueue(async () => {
      const bytes = fetches ? -1 : this.#feedBytes(feeds);
      if (bytes < 0) return ((await this.#message({ type: 'run', feeds: plainFeeds(feeds), ...(fetches ? { fetches } : {}) })).outputs) as Record<string, TensorData>;
      if (bytes > this.#data.byteLength) await this.#grow(bytes);
      this.#writeFeeds(feeds);
      const reply = await this.#send(SHARED);
      if (reply) {
        const outputs = reply.outputs as Record<string, TensorData>;
        // Outputs too large for the region came by message: make room for the next ones.
        const size = Object.values(outputs).reduce((a, t) => a + align8((t.data as TypedArray).byteLength ?? 0), 0);
        if (size > this.#data.byteLength && size <= MAX_DATA_BYTES) await this.#grow(size);
        return outputs;
      }
      return this.#readOutputs();
    });
  }

  /** Any other request (bench, statistics, close): a structured-clone message. */
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#enqueue(() => this.#message(msg));
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => {
      if (this.#failure) throw this.#failure;
      return fn();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #message(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.#port.postMessage(msg);
    const reply = await this.#send(PORT);
    if (!reply) throw new Error(`the ONNX Runtime worker answered a '${String(msg.type)}' request without a message`);
    if (msg.type === 'close') this.#port.close();
    return reply;
  }

  async #grow(bytes: number): Promise<void> {
    const data = new SharedArrayBuffer(Math.min(MAX_DATA_BYTES, Math.max(bytes, 2 * this.#data.byteLength)));
    await this.#message({ type: 'channel-data', data });
    this.#data = data;
  }

  /** Signal one request and await its answer; returns the reply message when it came by message. */
  async #send(kind: number): Promise<Record<string, unknown> | undefined> {
    const seq = ++this.#seq;
    Atomics.store(this.#ctl, REQUEST_KIND, kind);
    Atomics.store(this.#ctl, REQ, seq);
    Atomics.notify(this.#ctl, REQ);
    const sent = performance.now();
    if (this.#lastMs < this.#pollMs) {
      const until = sent + this.#pollMs;
      while (Atomics.load(this.#ctl, ACK) !== seq && performance.now() < until) await nextTurn();
    }
    while (Atomics.load(this.#ctl, ACK) !== seq) {
      if (this.#failure) throw this.#failure;
      const wait = waitAsync(this.#ctl, ACK, seq - 1);
      if (wait.async) await wait.value;
    }
    this.#lastMs = performance.now() - sent;
    if (Atomics.load(this.#ctl, REPLY_KIND) === SHARED) return undefined;
    const reply = receiveMessageOnPort(this.#port)?.message as { ok?: boolean; message?: string } | undefined;
    if (!reply) throw new Error('the ONNX Runtime worker answered without a message');
    if (!reply.ok) throw new Error(reply.message ?? 'unknown error');
    return reply as Record<string, unknown>;
  }

  /** Bytes the feeds take in the data region, or -1 when they cannot travel there. */
  #feedBytes(feeds: Record<string, TensorData>): number {
    let bytes = 0;
    let words = 1;
    for (const [name, t] of Object.entries(feeds)) {
      if (!this.#inputs.has(name) || t.dtype === 'string' || !ArrayBuffer.isView(t.data) || !SHARED_DTYPES.includes(t.dtype)) return -1;
      bytes += align8(t.data.byteLength);
      words += RECORD + t.dims.length;
    }
    return words <= HEADER_WORDS && bytes <= MAX_DATA_BYTES ? bytes : -1;
  }

  // writeFeeds and readOutputs run on every call: plain index writes, no temporary arrays (bench/engine-overhead.mjs).
  #writeFeeds(feeds: Record<string, TensorData>): void {
    const h = this.#header;
    const bytes = this.#bytes();
    let n = 0;
    let w = 1;
    let offset = 0;
    for (const name of Object.keys(feeds)) {
      const t = feeds[name]!;
      const data = t.data as TypedArray;
      const rank = t.dims.length;
      h[w] = this.#inputs.get(name)!;
      h[w + 1] = SHARED_DTYPES.indexOf(t.dtype as Exclude<DType, 'string'>);
      h[w + 2] = rank;
      h[w + 3] = offset;
      h[w + 4] = data.byteLength;
      for (let d = 0; d < rank; d++) h[w + RECORD + d] = t.dims[d]!;
      w += RECORD + rank;
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      offset += align8(data.byteLength);
      n++;
    }
    h[0] = n;
  }

  #readOutputs(): Record<string, TensorData> {
    const h = this.#header;
    const out: Record<string, TensorData> = {};
    let w = 1;
    for (let i = 0, n = h[0]!; i < n; i++) {
      const dtype = SHARED_DTYPES[h[w + 1]!]!;
      const rank = h[w + 2]!;
      const Ctor = ARRAY_CLASS_OF[dtype];
      // A copy: the caller gets its own (non-shared) array; the region is reused by the next request.
      const data = new Ctor(h[w + 4]! / Ctor.BYTES_PER_ELEMENT);
      data.set(new Ctor(this.#data, h[w + 3]!, data.length) as never);
      const dims = new Array<number>(rank);
      for (let d = 0; d < rank; d++) dims[d] = h[w + RECORD + d]!;
      out[this.#outputNames[h[w]!]!] = { data, dims, dtype };
      w += RECORD + rank;
    }
    return out;
  }

  /** A byte view of the data region (kept until the region is replaced). */
  #bytes(): Uint8Array {
    if (this.#byteView?.buffer !== this.#data) this.#byteView = new Uint8Array(this.#data);
    return this.#byteView;
  }
}

export function plainFeeds(feeds: Record<string, TensorData>): Record<string, { data: unknown; dims: number[]; dtype: string }> {
  const out: Record<string, { data: unknown; dims: number[]; dtype: string }> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = { data: t.data, dims: [...t.dims], dtype: t.dtype };
  return out;
}
