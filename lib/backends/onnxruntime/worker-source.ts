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
 */
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
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
    try {
      const result = await handle(msg);
      parentPort.postMessage({ id: msg.id, ok: true, ...result });
    } catch (err) {
      parentPort.postMessage({ id: msg.id, ok: false, message: err && err.message ? err.message : String(err) });
    }
  }
  busy = false;
}

(async () => {
  try {
    session = await ort.InferenceSession.create(workerData.model, workerData.sessionOptions);
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
  } catch (err) {
    parentPort.postMessage({ type: 'init-error', message: err && err.message ? err.message : String(err) });
    return;
  }
  parentPort.on('message', (msg) => {
    queue.push(msg);
    drain();
  });
})();
`;
