/**
 * The worker thread's program, kept as source text and started with `new Worker(source, { eval: true })`, so the
 * same code runs from lib/ (vitest on TypeScript) and from dist/ (compiled) with no worker file to locate.
 * onnxruntime-node is required by the absolute path the main thread resolved (an eval worker resolves modules
 * from the process's working directory, not from this package).
 *
 * Protocol (main -> worker): { id, type: 'run', feeds, fetches? } | { id, type: 'bench', feeds, warmup, iterations }
 * | { id, type: 'close' }. Worker -> main: { type: 'ready', ... } | { type: 'init-error', message }
 * | { id, ok: true, outputs | times } | { id, ok: false, message }.
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

async function handle(msg) {
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
