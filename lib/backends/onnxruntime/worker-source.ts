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
 * The same program runs as a child process (host 'process', see session.ts): then it talks over the IPC channel,
 * its first message is the workerData, and it exits when the channel closes. In a thread, workerData.gate (an
 * Int32Array over a SharedArrayBuffer) is 1 while ONNX Runtime may be called (start-up, a request) and 0 when idle;
 * the owner's process 'exit' listener sets it to 2 once idle, after which no request starts.
 */
export const WORKER_SOURCE = String.raw`
const threads = require('node:worker_threads');
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

async function start(data) {
  workerData = data;
  gate = workerData.gate ? new Int32Array(workerData.gate) : undefined;
  try {
    ort = require(workerData.ortPath);
    session = await ort.InferenceSession.create(workerData.model, workerData.sessionOptions);
    releaseGate();
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  } catch (err) {
    releaseGate();
    parentPort.postMessage({ type: 'init-error', message: err && err.message ? err.message : String(err) });
    return;
  }
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
