/**
 * The worker thread's program, kept as source text and started with `new Worker(source, { eval: true })`, so the
 * same code runs from lib/ (vitest on TypeScript) and from dist/ (compiled) with no worker file to locate.
 * onnxruntime-node is required by the absolute path the main thread resolved (an eval worker resolves modules
 * from the process's working directory, not from this package).
 *
 * Protocol (main -> worker): { id, type: 'run', feeds, fetches? } | { id, type: 'bench', feeds, warmup, iterations }
 * | { id, type: 'close' } | { id, type: 'stats-add', feeds, fetches, tensors, bins, kernel, threads }
 * | { id, type: 'stats-take' }. Worker -> main: { type: 'ready', ... } | { type: 'init-error', message }
 * | { id, ok: true, outputs | times | runMs, statsMs, nonFinite? | statistics } | { id, ok: false, message }.
 * 'stats-add' runs a batch and adds the statistics of `tensors` (fetched outputs or feeds) to histograms kept
 * here, with the addon's calibHistogramAdd loaded from `kernel` (lib/calib/histogram.ts has the rules);
 * 'stats-take' returns them ({ name, state: [min, max, count, range], bins }) and starts over.
 * Requests are handled one at a time in arrival order; session.run blocks this thread, never the main one.
 *
 * In a thread, requests come through the shared-memory channel of channel.ts (workerData.channel): this thread
 * sleeps in Atomics.wait between requests, a 'run' of numeric tensors reads its feeds from and writes its outputs to
 * shared memory, and every other request and reply (including errors) is one of the messages above on the channel's
 * port, plus { type: 'channel-data', data } which replaces the shared data region.
 *
 * The same program runs as a child process (host 'process', see session.ts): then it talks over the IPC channel,
 * its first message is the workerData, and it exits when the channel closes. In a thread, workerData.gate (an
 * Int32Array over a SharedArrayBuffer) is 1 while ONNX Runtime may be called (start-up, a request) and 0 when idle;
 * the owner's process 'exit' listener sets it to 2 once idle, after which no request starts.
 */
import { ARRAY_CLASS_OF } from '../../engine/types.js';
import { ACK, CONTROL_WORDS, HEADER_WORDS, PORT, RECORD, REPLY_KIND, REQ, REQUEST_KIND, SHARED, SHARED_DTYPES } from './channel.js';

export const WORKER_SOURCE = String.raw`
const threads = require('node:worker_threads');
const ARRAY_CLASS_OF = { ${Object.entries(ARRAY_CLASS_OF).map(([dtype, c]) => `${dtype}: ${c.name}`).join(', ')} };
const SHARED_DTYPES = ${JSON.stringify(SHARED_DTYPES)};
const [REQ, ACK, REQUEST_KIND, REPLY_KIND, SHARED, PORT, CONTROL_WORDS, HEADER_WORDS, RECORD] = ${JSON.stringify([REQ, ACK, REQUEST_KIND, REPLY_KIND, SHARED, PORT, CONTROL_WORDS, HEADER_WORDS, RECORD])};
const parentPort = threads.parentPort ?? {
  // A write can still fail (EPIPE) between the owner going away and 'disconnect': then there is no one to answer.
  postMessage: (msg) => { if (process.connected) process.send(msg, (err) => err && process.exit(0)); },
  on: (event, fn) => process.on(event, fn),
};
let workerData;
let ort;
let gate;
let session;
const queue = [];
let busy = false;

// onnxruntime-node's public InferenceSession.run defers each run to the next turn of this thread's event loop
// (setImmediate) and re-checks its arguments: 6-21 us a run at batch 1 and 8 (bench/results/engine-overhead.json,
// 'in-worker' against 'in-worker-public'). This thread does nothing while a run is on, so it calls the binding under
// that API synchronously, with the same checks (missing inputs, unknown fetch names: same messages). onnxruntime-node's
// version is pinned in package.json; where its binding does not have the expected shape (nativeBinding), the public
// API serves, as before.
function nativeBinding() {
  const path = require('node:path');
  let b;
  try {
    b = require(path.join(path.dirname(workerData.ortPath), 'binding.js'));
  } catch {
    return undefined;
  }
  const S = b && b.binding && b.binding.InferenceSession;
  const p = S && S.prototype;
  if (typeof b.initOrt !== 'function' || typeof S !== 'function' || !['loadModel', 'run', 'dispose'].every((m) => typeof p[m] === 'function')) return undefined;
  return b;
}

async function openSession(model, options) {
  const b = workerData.publicApi ? undefined : nativeBinding();
  if (!b) {
    const s = await ort.InferenceSession.create(model, options);
    return { native: false, inputNames: s.inputNames, outputNames: s.outputNames, run: (feeds, fetches) => s.run(feeds, fetches), release: () => s.release() };
  }
  b.initOrt();
  const s = new b.binding.InferenceSession();
  if (typeof model === 'string') s.loadModel(model, options);
  else s.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
  const inputNames = s.inputMetadata.map((m) => m.name);
  const outputNames = s.outputMetadata.map((m) => m.name);
  const all = Object.fromEntries(outputNames.map((n) => [n, null]));
  return {
    native: true,
    inputNames,
    outputNames,
    run(feeds, fetchNames) {
      for (const name of inputNames) if (feeds[name] === undefined) throw new Error("input '" + name + "' is missing in 'feeds'.");
      let fetches = all;
      if (fetchNames) {
        fetches = {};
        for (const name of fetchNames) {
          if (!outputNames.includes(name)) throw new RangeError("'fetches' contains invalid output name: " + name + '.');
          fetches[name] = null;
        }
      }
      return s.run(feeds, fetches, {});
    },
    release: () => s.dispose(),
  };
}

function toOrt(feeds) {
  const out = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.dtype, t.data, t.dims);
  return out;
}

function fromOrt(outputs) {
  const out = {};
  for (const [name, t] of Object.entries(outputs)) {
    let data = t.data;
    if (t.type === 'float16' && !(data instanceof Uint16Array)) data = new Uint16Array(data.buffer, data.byteOffset, data.length);
    out[name] = { data, dims: Array.from(t.dims), dtype: t.type };
  }
  return out;
}

const statistics = new Map();
let histogramAdd;

function handleStatistics(msg) {
  if (msg.type === 'stats-take') {
    const out = [];
    for (const [name, s] of statistics) out.push({ name, state: s.state, bins: s.bins });
    statistics.clear();
    return { statistics: out };
  }
  histogramAdd ??= require(msg.kernel).calibHistogramAdd;
  return (async () => {
    const t0 = performance.now();
    const outputs = await session.run(toOrt(msg.feeds), msg.fetches);
    const t1 = performance.now();
    for (const name of msg.tensors) {
      const t = outputs[name] ?? msg.feeds[name];
      if (!(t && t.data instanceof Float32Array)) throw new Error("tensor '" + name + "' is " + (t ? t.type ?? t.dtype : 'not an output') + '; calibration takes float32');
      let s = statistics.get(name);
      if (!s) statistics.set(name, (s = { bins: new Float64Array(msg.bins), state: Float64Array.of(Infinity, -Infinity, 0, 0) }));
      const bad = histogramAdd(t.data, s.bins, s.state, msg.threads);
      if (bad >= 0) return { runMs: t1 - t0, statsMs: performance.now() - t1, nonFinite: { tensor: name, index: bad, value: t.data[bad] } };
    }
    return { runMs: t1 - t0, statsMs: performance.now() - t1 };
  })();
}

async function handle(msg) {
  if (msg.type === 'stats-add' || msg.type === 'stats-take') return handleStatistics(msg);
  if (msg.type === 'run') {
    const outputs = await session.run(toOrt(msg.feeds), msg.fetches);
    return { outputs: fromOrt(outputs) };
  }
  if (msg.type === 'bench') {
    const feeds = toOrt(msg.feeds);
    for (let i = 0; i < msg.warmup; i++) await session.run(feeds);
    const times = new Float64Array(msg.iterations);
    for (let i = 0; i < msg.iterations; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times[i] = performance.now() - t0;
    }
    return { times };
  }
  if (msg.type === 'close') {
    await session.release();
    session = undefined;
    return {};
  }
  throw new Error('unknown request ' + msg.type);
}

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const msg = queue.shift();
    if (gate && Atomics.compareExchange(gate, 0, 0, 1) !== 0) break; // the owner is exiting: start nothing
    try {
      const result = await handle(msg);
      releaseGate();
      parentPort.postMessage({ id: msg.id, ok: true, ...result }, transferList(result));
    } catch (err) {
      releaseGate();
      parentPort.postMessage({ id: msg.id, ok: false, message: err && err.message ? err.message : String(err) });
    }
  }
  busy = false;
}

// Outputs and timings are ONNX Runtime's own fresh buffers, used nowhere else here: moved to the owner, not copied.
function transferList(result) {
  const list = new Set();
  const add = (data) => { if (data && data.buffer instanceof ArrayBuffer) list.add(data.buffer); };
  if (result.outputs) for (const t of Object.values(result.outputs)) add(t.data);
  add(result.times);
  return [...list];
}

function releaseGate() {
  if (!gate) return;
  Atomics.store(gate, 0, 0);
  Atomics.notify(gate, 0);
}

// The shared-memory channel (thread host): see channel.ts for the layout.
async function serveChannel(channel) {
  const ctl = new Int32Array(channel.control, 0, CONTROL_WORDS);
  const header = new Int32Array(channel.control, 4 * CONTROL_WORDS, HEADER_WORDS);
  const port = channel.port;
  const outputIndex = new Map(session.outputNames.map((n, i) => [n, i]));
  let data = channel.data;
  let served = 0;
  const spinMs = channel.spinUs / 1000;
  let repliedAt = -Infinity;
  let gapMs = Infinity; // from the last reply to the request after it
  for (;;) {
    // Spin for the next request only while requests follow replies within the window (see channel.ts).
    if (gapMs < spinMs) {
      const until = repliedAt + spinMs;
      while (Atomics.load(ctl, REQ) === served && performance.now() < until);
    }
    // Asleep until the next request (no CPU while idle). A wake is not a request: the caller's notify can come late,
    // after this thread already saw the new count while spinning, served it, and went back to sleep.
    while (Atomics.load(ctl, REQ) === served) Atomics.wait(ctl, REQ, served);
    served = Atomics.load(ctl, REQ);
    gapMs = performance.now() - repliedAt;
    if (gate && Atomics.compareExchange(gate, 0, 0, 1) !== 0) return; // the owner is exiting: start nothing
    let reply;
    let closing = false;
    try {
      if (Atomics.load(ctl, REQUEST_KIND) === SHARED) {
        const outputs = fromOrt(await session.run(readFeeds(header, data)));
        if (!writeOutputs(header, data, outputs, outputIndex)) reply = { ok: true, outputs };
      } else {
        const msg = threads.receiveMessageOnPort(port).message;
        closing = msg.type === 'close';
        if (msg.type === 'channel-data') {
          data = msg.data;
          reply = { ok: true };
        } else reply = { ok: true, ...(await handle(msg)) };
      }
    } catch (err) {
      reply = { ok: false, message: err && err.message ? err.message : String(err) };
    }
    releaseGate();
    if (reply) port.postMessage(reply, reply.ok ? transferList(reply) : []);
    Atomics.store(ctl, REPLY_KIND, reply ? PORT : SHARED);
    Atomics.store(ctl, ACK, served);
    Atomics.notify(ctl, ACK);
    repliedAt = performance.now();
    if (closing) return;
  }
}

// Per input: a private buffer the feeds are copied into, reused by every run (a fresh one per run costs page faults).
const scratch = [];

function readFeeds(header, data) {
  const feeds = {};
  let w = 1;
  for (let i = 0, n = header[0]; i < n; i++) {
    const index = header[w], dtype = SHARED_DTYPES[header[w + 1]], rank = header[w + 2], offset = header[w + 3], byteLength = header[w + 4];
    const Ctor = ARRAY_CLASS_OF[dtype];
    // ONNX Runtime takes no shared memory: the feed is copied out (ORT reads it only during this run).
    if (!(scratch[index] && scratch[index].byteLength >= byteLength)) scratch[index] = new ArrayBuffer(byteLength);
    const values = new Ctor(scratch[index], 0, byteLength / Ctor.BYTES_PER_ELEMENT);
    values.set(new Ctor(data, offset, values.length));
    const dims = new Array(rank);
    for (let d = 0; d < rank; d++) dims[d] = header[w + RECORD + d];
    feeds[session.inputNames[index]] = new ort.Tensor(dtype, values, dims);
    w += RECORD + rank;
  }
  return feeds;
}

/** Outputs into the shared region; false (nothing written) when one is not numeric or they do not fit. */
function writeOutputs(header, data, outputs, outputIndex) {
  const entries = Object.entries(outputs);
  let words = 1;
  let bytes = 0;
  for (const [name, t] of entries) {
    if (!ArrayBuffer.isView(t.data) || !SHARED_DTYPES.includes(t.dtype) || !outputIndex.has(name)) return false;
    words += RECORD + t.dims.length;
    bytes += (t.data.byteLength + 7) & ~7;
  }
  if (words > HEADER_WORDS || bytes > data.byteLength) return false;
  header[0] = entries.length;
  let w = 1;
  let offset = 0;
  for (const [name, t] of entries) {
    const rank = t.dims.length;
    header[w] = outputIndex.get(name);
    header[w + 1] = SHARED_DTYPES.indexOf(t.dtype);
    header[w + 2] = rank;
    header[w + 3] = offset;
    header[w + 4] = t.data.byteLength;
    for (let d = 0; d < rank; d++) header[w + RECORD + d] = t.dims[d];
    w += RECORD + rank;
    new Uint8Array(data, offset, t.data.byteLength).set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    offset += (t.data.byteLength + 7) & ~7;
  }
  return true;
}

async function start(data) {
  workerData = data;
  gate = workerData.gate ? new Int32Array(workerData.gate) : undefined;
  try {
    ort = require(workerData.ortPath);
    session = await openSession(workerData.model, workerData.sessionOptions);
    releaseGate();
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, ortCall: session.native ? 'binding' : 'public' });
  } catch (err) {
    releaseGate();
    parentPort.postMessage({ type: 'init-error', message: err && err.message ? err.message : String(err) });
    return;
  }
  if (workerData.channel) return serveChannel(workerData.channel);
  parentPort.on('message', (msg) => {
    queue.push(msg);
    drain();
  });
}

if (threads.parentPort) {
  start(threads.workerData);
} else {
  process.once('message', start);
  process.on('disconnect', () => process.exit(0)); // the owner closed, exited or was terminated
}
`;
