// What our Engine costs over the runtime under it: engine.infer against onnxruntime-node's own session.run, same
// model, same session settings (fp32, graph optimization 'all', 2 intra-op threads), in one process, rounds
// interleaved so machine load hits every variant alike. The variants split the cost by its suspects:
//   direct       ort.InferenceSession.run on the main thread (what a user calling onnxruntime-node gets)
//   in-worker    the runtime timed inside the engine's worker thread (no hand-off, no copies), called as the engine
//                calls it: synchronously through onnxruntime-node's binding (OrtSessionOptions.ortCall 'binding')
//   in-worker-public  the same through onnxruntime-node's public InferenceSession.run (ortCall 'public'), which
//                defers each run to the next turn of the thread's event loop
//   session      WorkerSession.run with the engine's session defaults (the engine without its feed validation)
//   session-public  the same with ortCall 'public': what calling the binding saves, measured in the same rounds
//   sleep        WorkerSession.run with both threads sleeping between calls (handoff spinUs 0, pollUs 0): the
//                hand-off through shared memory (lib/backends/onnxruntime/channel.ts) with two thread wake-ups a call
//   spin-only    the session thread spins for the next request (handoff spinUs 200), the caller sleeps (pollUs 0)
//   ort-spin     the engine's hand-off with ORT's pool spinning long after a run (spinning: true, ORT's default)
//   ort-in-run   the engine's hand-off with ORT's pool stopping when a run ends (spinning: 'in-run', the default
//                until 2026-12-05)
//   engine       engine.infer with its defaults (ORT's idle pool spins 100 us, handoff spinUs 200 / pollUs 300),
//                plus feed validation and lifecycle tracking
// copy-in/out are the copies of the feeds into and the outputs out of a shared buffer alone, on the main thread.
// Runs under the shared benchmark lock (re-executes itself under flock unless TRTN_BENCH_LOCKED=1).
// Usage: node bench/engine-overhead.mjs [--models cnn,vgg16] [--batches 1,8,64] [--rounds 7] [--block-ms 300] [--threads 2]
//        [--out bench/results/engine-overhead.json]   (build first: npx tsc -p tsconfig.json)
import { holdBenchLock } from './bench-lock.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { arg } from './args.mjs';

holdBenchLock();

await import('../dist/backends/onnxruntime/index.js');
const { buildEngine } = await import('../dist/engine/api.js');
const { WorkerSession } = await import('../dist/backends/onnxruntime/session.js');
const { summarize } = await import('../dist/engine/stats.js');
const ort = createRequire(import.meta.url)('onnxruntime-node');

const models = arg('models', 'cnn,vgg16').split(',');
const batches = arg('batches', '1,8,64').split(',').map(Number);
const rounds = Number(arg('rounds', '7'));
const blockMs = Number(arg('block-ms', '300'));
const out = arg('out', 'bench/results/engine-overhead.json');
// --threads 1 leaves this 2-core machine a core the runtime does not use: what the hand-off costs when it can poll
const threads = Number(arg('threads', '2'));
const round3 = (x) => Math.round(x * 1000) / 1000;

/** Time `fn` back to back for about blockMs (at least 5 calls); returns per-call ms. */
async function block(fn) {
  const times = [];
  const end = performance.now() + blockMs;
  while (times.length < 5 || performance.now() < end) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

function input(dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 1.5);
}

const load = { start: loadavg().map((x) => round3(x)) };
const rows = [];
for (const name of models) {
  const bytes = readFileSync(`test/fixtures/models/fmnist_${name}.onnx`);
  const direct = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const engine = await buildEngine(bytes, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: threads } });
  const open = (o) => WorkerSession.open(bytes, { graphOptimization: 'all', intraOpThreads: threads, host: 'thread', ...o });
  const sessions = {
    sleep: await open({ handoff: { spinUs: 0, pollUs: 0 } }),
    'spin-only': await open({ handoff: { pollUs: 0 } }),
    'ort-spin': await open({ spinning: true }),
    'ort-in-run': await open({ spinning: 'in-run' }),
    session: await open({}),
    'session-public': await open({ ortCall: 'public' }),
  };
  const inputName = engine.inputs[0].name;
  for (const batch of batches) {
    const dims = [batch, ...engine.inputs[0].shape.slice(1)];
    const data = input(dims);
    const feeds = { [inputName]: { data, dims, dtype: 'float32' } };
    const ortFeeds = { [inputName]: new ort.Tensor('float32', data, dims) };
    const outputs = await engine.infer(feeds);
    const outLength = Object.values(outputs).reduce((a, t) => a + t.data.length, 0);
    const shared = new SharedArrayBuffer(4 * Math.max(data.length, outLength));
    const variants = {
      direct: () => direct.run(ortFeeds),
      sleep: () => sessions.sleep.run(feeds),
      'spin-only': () => sessions['spin-only'].run(feeds),
      'ort-spin': () => sessions['ort-spin'].run(feeds),
      'ort-in-run': () => sessions['ort-in-run'].run(feeds),
      session: () => sessions.session.run(feeds),
      'session-public': () => sessions['session-public'].run(feeds),
      engine: () => engine.infer(feeds),
      'copy-in': async () => new Float32Array(shared, 0, data.length).set(data),
      'copy-out': async () => new Float32Array(shared, 0, outLength).slice(),
    };
    const samples = Object.fromEntries([...Object.keys(variants), 'in-worker', 'in-worker-public'].map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [k, fn] of Object.entries(variants)) for (const t of await block(fn)) samples[k].push(t);
      // The runtime alone, timed where it runs: as many runs as the engine managed in its block.
      const n = Math.max(5, Math.round(samples.engine.length / (r + 1)));
      samples['in-worker'].push(...(await sessions.sleep.bench(feeds, 2, n)));
      samples['in-worker-public'].push(...(await sessions['session-public'].bench(feeds, 2, n)));
    }
    const median = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round3(summarize(v).median)]));
    const row = {
      model: name, batch, median_ms: median,
      engine_over_direct_ms: round3(median.engine - median.direct),
      engine_over_direct_pct: round3(((median.engine - median.direct) / median.direct) * 100),
      samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length])),
    };
    rows.push(row);
    console.log(`${name} b${batch}: ${Object.entries(median).map(([k, v]) => `${k} ${v}`).join(', ')} ms; engine - direct ${row.engine_over_direct_ms} ms (${row.engine_over_direct_pct}%)`);
  }
  await direct.release();
  for (const session of Object.values(sessions)) await session.close();
  engine.dispose();
}
load.end = loadavg().map((x) => round3(x));
const result = {
  what: `engine.infer vs onnxruntime-node session.run on the main thread, fp32, graph optimization all, intra-op threads ${threads}; medians (ms) over interleaved rounds`,
  conditions: { cpu: cpus()[0]?.model, cpus: cpus().length, node: process.version, loadavg: load, rounds, blockMs, note: 'shared 2-core machine; other jobs perturb timings when the 1-minute load is above ~1' },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}; load ${load.start[0]} -> ${load.end[0]}`);
