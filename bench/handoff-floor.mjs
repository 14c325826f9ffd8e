// What any hand-off to a session thread costs on this machine, apart from our channel's code: the protocol of
// lib/backends/onnxruntime/channel.ts reduced to its primitives (a request counter the session thread sleeps on with
// Atomics.wait, a reply counter the caller awaits with Atomics.waitAsync), around onnxruntime-node's session.run on the
// Fashion-MNIST cnn, every step stamped with performance.timeOrigin + performance.now() on its own thread:
//   wake    caller's notify -> session thread running (Atomics.wait returning, or its spin loop seeing the request)
//   run     session.run inside the session thread
//   back    session thread's notify -> caller's await resuming (Atomics.waitAsync: a task posted to its event loop)
// Modes: sleep (both sides sleep), spin (the session thread spins 200 us for the next request), poll (the caller polls
// its counter from setImmediate while the run goes on). `direct` is session.run on the main thread, back to back,
// with ORT's pool settings of that row. Each row: medians over --calls calls after 200 warm-up calls.
// Runs under the shared benchmark lock (re-executes itself under flock unless TRTN_BENCH_LOCKED=1).
// Usage: node bench/handoff-floor.mjs [--batches 8,64] [--threads 2] [--calls 3000] [--out bench/results/handoff-floor.json]
import { holdBenchLock } from './bench-lock.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { arg } from './args.mjs';

holdBenchLock();

const batches = arg('batches', '8,64').split(',').map(Number);
const threads = Number(arg('threads', '2'));
const calls = Number(arg('calls', '3000'));
const out = arg('out', 'bench/results/handoff-floor.json');
const require = createRequire(import.meta.url);
const ortPath = require.resolve('onnxruntime-node');
const ort = require(ortPath);
const bytes = readFileSync('test/fixtures/models/fmnist_cnn.onnx');
const WARMUP = 200;
const us = (ms) => Math.round(ms * 10000) / 10;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

// The session thread: sleeps (or spins) on REQ, runs, stamps, notifies ACK.
const workerSource = `
const { workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const ctl = new Int32Array(workerData.ctl);
const ts = new Float64Array(workerData.ts);
const now = () => performance.timeOrigin + performance.now();
(async () => {
  const s = await ort.InferenceSession.create(workerData.bytes, workerData.options);
  const x = new ort.Tensor('float32', new Float32Array(workerData.dims.reduce((a, b) => a * b)).fill(0.5), workerData.dims);
  const feeds = { [s.inputNames[0]]: x };
  Atomics.store(ctl, 1, -1);
  Atomics.notify(ctl, 1);
  let served = 0;
  for (;;) {
    if (workerData.spin) {
      const until = performance.now() + 0.2;
      while (Atomics.load(ctl, 0) === served && performance.now() < until);
    }
    while (Atomics.load(ctl, 0) === served) Atomics.wait(ctl, 0, served);
    served = Atomics.load(ctl, 0);
    if (served < 0) break;
    ts[0] = now();
    await s.run(feeds);
    ts[1] = now();
    Atomics.store(ctl, 1, served);
    Atomics.notify(ctl, 1);
  }
  await s.release();
})();
`;

const sessionOptions = (spinning) => ({ graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, ...(spinning ? {} : { extra: { session: { force_spinning_stop: '1' } } }) });

async function handoff(dims, mode, spinning) {
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const ts = new Float64Array(new SharedArrayBuffer(16));
  const worker = new Worker(workerSource, { eval: true, workerData: { ctl: ctl.buffer, ts: ts.buffer, bytes, dims, ortPath, options: sessionOptions(spinning), spin: mode === 'spin' } });
  while (Atomics.load(ctl, 1) !== -1) await Atomics.waitAsync(ctl, 1, 0).value;
  Atomics.store(ctl, 1, 0);
  const now = () => performance.timeOrigin + performance.now();
  const rec = { wake: [], run: [], back: [], total: [] };
  for (let i = 1; i <= calls + WARMUP; i++) {
    const t0 = now();
    Atomics.store(ctl, 0, i);
    Atomics.notify(ctl, 0);
    if (mode === 'poll') while (Atomics.load(ctl, 1) !== i) await new Promise((r) => setImmediate(r));
    while (Atomics.load(ctl, 1) !== i) {
      const w = Atomics.waitAsync(ctl, 1, i - 1);
      if (w.async) await w.value;
    }
    const t1 = now();
    if (i > WARMUP) {
      rec.wake.push(ts[0] - t0);
      rec.run.push(ts[1] - ts[0]);
      rec.back.push(t1 - ts[1]);
      rec.total.push(t1 - t0);
    }
  }
  Atomics.store(ctl, 0, -1);
  Atomics.notify(ctl, 0);
  await new Promise((r) => worker.once('exit', r));
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, us(median(v))]));
}

async function direct(dims, spinning) {
  const s = await ort.InferenceSession.create(bytes, sessionOptions(spinning));
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(0.5), dims) };
  const t = [];
  for (let i = 0; i < calls + WARMUP; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    if (i >= WARMUP) t.push(performance.now() - t0);
  }
  await s.release();
  return us(median(t));
}

const load = { start: loadavg().map((x) => +x.toFixed(2)) };
const rows = [];
for (const batch of batches) {
  const dims = [batch, 1, 28, 28];
  // ORT's pool: 'in-run' (the engine's default: force_spinning_stop, the pool sleeps between runs) and spinning
  for (const spinning of [false, true]) {
    const row = { batch, ortPool: spinning ? 'spinning' : 'in-run', directUs: await direct(dims, spinning) };
    for (const mode of ['sleep', 'spin', 'poll']) row[mode] = await handoff(dims, mode, spinning);
    rows.push(row);
    console.log(`cnn b${batch} pool ${row.ortPool}: direct ${row.directUs} us; ${['sleep', 'spin', 'poll'].map((m) => `${m}: wake ${row[m].wake} run ${row[m].run} back ${row[m].back} total ${row[m].total}`).join('; ')} (us)`);
  }
}
load.end = loadavg().map((x) => +x.toFixed(2));
const result = {
  what: `hand-off primitives around onnxruntime-node session.run (Fashion-MNIST cnn, fp32, ${threads} intra-op threads): medians in microseconds`,
  conditions: { cpu: cpus()[0]?.model, cpus: cpus().length, node: process.version, loadavg: load, calls, threads },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}; load ${load.start[0]} -> ${load.end[0]}`);
