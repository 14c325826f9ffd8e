// Dynamic batching over the Open Inference Protocol: the same model exported three times into Triton model
// repositories, without dynamic_batching and with two batcher settings, served by `trt-node serve` in a child process on 127.0.0.1, driven by N
// concurrent clients sending one Fashion-MNIST image per request (binary tensor data). Each run is bounded by a
// request count and a time limit; every response is checked bit-equal against a local engine.infer of that image.
// The servers run side by side and the runs interleave (single, batched, then batched, single, ...) over --repeats
// rounds, so a load that drifts during the benchmark weighs on every mode alike; figures are medians over rounds.
//
//   npx tsc -p tsconfig.json && node bench/serve-batching.mjs [--concurrency 1,8,32] [--requests 800]
//       [--seconds 6] [--repeats 3] [--model cnn] [--max-batch 32] [--preferred 8,16,32|none] [--delay-us 2000]
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, importLib, libDir, machineNote, normalizeImages, parseArgs, percentile, round, testImages, writeResult, IMAGE_BYTES } from './service/common.mjs';

const args = parseArgs({ concurrency: '1,8,32', requests: 800, seconds: 6, repeats: 3, model: 'cnn', maxBatch: 32, preferred: '8,16,32', delayUs: 2000, payloads: 256, out: 'serve-batching' });
const levels = String(args.concurrency).split(',').map(Number);
const { buildEngine, exportModelRepository } = await importLib('index.js');
const { encodeInferRequest, decodeInferResponse } = await importLib('serve/protocol.js');

const images = testImages(args.payloads);
const input = normalizeImages(images.raw);
const feeds = Array.from({ length: images.count }, (_, j) => ({ input: { data: input.subarray(j * IMAGE_BYTES, (j + 1) * IMAGE_BYTES), dims: [1, 1, 28, 28], dtype: 'float32' } }));
const bodies = feeds.map((f) => encodeInferRequest(f, ['logits']));

// References from a local engine, and the two repositories from the same engine.
const engine = await buildEngine(fixture(args.model), { precision: 'fp32', backend: 'onnxruntime' });
const references = [];
for (const f of feeds) references.push((await engine.infer(f)).logits.data);
const dir = mkdtempSync(join(tmpdir(), 'trtn-serve-bench-'));
const preferred = args.preferred === 'none' ? [] : String(args.preferred).split(',').map(Number);
// single: no dynamic_batching; batched: preferred sizes and a queue delay; batched-nodelay: dynamic_batching { } with
// delay 0, which batches only what queued while the instance was busy (it never waits).
const modeBatching = { single: undefined, batched: { preferredBatchSizes: preferred, maxQueueDelayMicroseconds: args.delayUs }, 'batched-nodelay': { preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 } };
for (const [mode, dynamicBatching] of Object.entries(modeBatching)) await exportModelRepository(engine, join(dir, mode), { name: args.model, maxBatch: args.maxBatch, dynamicBatching });
await engine[Symbol.asyncDispose]();

function startServer(repository) {
  const child = spawn(process.execPath, [join(libDir, 'cli', 'main.js'), 'serve', '--repository', repository, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${out}`)));
  });
}

function post(agent, port, { body, headerLength }) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/v2/models/${args.model}/infer`, method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, 'inference-header-content-length': headerLength } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), headerLength: res.headers['inference-header-content-length'] }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function drive(port, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  let mismatches = 0;
  let errors = 0;
  const deadline = performance.now() + args.seconds * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < args.requests && performance.now() < deadline) {
      const j = next++ % bodies.length;
      const t = performance.now();
      try {
        const res = await post(agent, port, bodies[j]);
        latencies.push(performance.now() - t);
        const got = res.status === 200 ? decodeInferResponse(res.body, res.headerLength, 'bench').logits.data : undefined;
        if (!got || got.length !== 10 || got.some((v, c) => v !== references[j][c])) mismatches++;
      } catch {
        errors++;
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { concurrency, requests: latencies.length, seconds: round(seconds), imagesPerSecond: round(latencies.length / seconds, 1), latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) }, mismatches, errors };
}

const results = {
  benchmark: 'dynamic batching over the Open Inference Protocol (trt-node serve, loopback, 1 image per request, binary tensor data)',
  model: args.model, backend: 'onnxruntime (CPU), 1 instance', maxBatchSize: args.maxBatch,
  modes: Object.fromEntries(Object.entries(modeBatching).map(([m, d]) => [m, d ?? 'no dynamic_batching'])),
  machine: machineNote(), bounds: { requests: args.requests, seconds: args.seconds }, runs: [],
};
const modes = Object.keys(modeBatching);
const servers = {};
try {
  for (const mode of modes) servers[mode] = await startServer(join(dir, mode));
  for (let round_ = 0; round_ < args.repeats; round_++) {
    for (const concurrency of levels) {
      for (const mode of round_ % 2 === 0 ? modes : [...modes].reverse()) { // alternate the order between rounds
        const row = { mode, round: round_, loadAverage: loadavg().map((l) => round(l)), ...(await drive(servers[mode].port, concurrency)) };
        results.runs.push(row);
        console.log(`round ${round_} ${mode.padEnd(15)} c=${String(concurrency).padStart(2)}: ${row.imagesPerSecond} img/s, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, ${row.requests} requests, ${row.mismatches} mismatches, ${row.errors} errors, load ${row.loadAverage[0]}`);
      }
    }
  }
} finally {
  for (const server of Object.values(servers)) {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);
results.summary = modes.flatMap((mode) => levels.map((concurrency) => {
  const rs = results.runs.filter((r) => r.mode === mode && r.concurrency === concurrency);
  return { mode, concurrency, imagesPerSecond: median(rs.map((r) => r.imagesPerSecond)), p50Ms: median(rs.map((r) => r.latencyMs.p50)), p99Ms: median(rs.map((r) => r.latencyMs.p99)), rounds: rs.length };
}));
console.log('medians over rounds:');
for (const r of results.summary) console.log(`  ${r.mode.padEnd(15)} c=${String(r.concurrency).padStart(2)}: ${r.imagesPerSecond} img/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);

// At each latency bound (every median p99), the best throughput each mode reaches without exceeding it.
const bounds = [...new Set(results.summary.map((r) => r.p99Ms))].sort((a, b) => a - b);
results.atLatencyBound = bounds.map((bound) => {
  const best = (mode) => Math.max(0, ...results.summary.filter((r) => r.mode === mode && r.p99Ms <= bound).map((r) => r.imagesPerSecond));
  return { p99BoundMs: bound, imagesPerSecond: Object.fromEntries(modes.map((m) => [m, best(m)])) };
});
for (const b of results.atLatencyBound) console.log(`p99 <= ${b.p99BoundMs} ms: ${modes.map((m) => `${m} ${b.imagesPerSecond[m]}`).join(', ')} img/s`);
console.log(`wrote ${writeResult(args.out, results)}`);
const bad = results.runs.reduce((n, r) => n + r.mismatches + r.errors, 0);
if (bad > 0) {
  console.error(`${bad} responses differed from local infer or failed`);
  process.exitCode = 1;
}
