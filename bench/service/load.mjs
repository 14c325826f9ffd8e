// Load generator for bench/service/server.mjs: starts the server as a child process on 127.0.0.1 for each
// precision, drives it with node:http clients at each concurrency level (bounded by a request count and a time
// limit), and checks every response against a single `engine.infer` call on the same images in this process.
//
//   npx tsc -p tsconfig.json && node bench/service/load.mjs [--precisions fp32,int8] [--concurrency 1,8,64]
//       [--model cnn] [--images-per-request 1] [--requests 3000] [--seconds 10]
import { spawn } from 'node:child_process';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { buildClassifier, feedsFor } from './server.mjs';
import { testImages, IMAGE_BYTES, parseArgs, percentile, round, machineNote, writeResult } from './common.mjs';

const args = parseArgs({ precisions: 'fp32,int8', concurrency: '1,8,64', model: 'cnn', imagesPerRequest: 1, requests: 3000, seconds: 10, payloads: 512, out: 'service-http' });
const levels = String(args.concurrency).split(',').map(Number);
const k = args.imagesPerRequest;
const images = testImages(args.payloads * k);
const payloads = Array.from({ length: Math.floor(images.count / k) }, (_, j) => Buffer.from(images.raw.subarray(j * k * IMAGE_BYTES, (j + 1) * k * IMAGE_BYTES)));

function startServer(precision) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url)), '--model', args.model, '--precision', precision, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+) \((.*)\)/.exec(out);
      if (m) resolvePort({ child, port: Number(m[1]), engine: m[2] });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${out}`)));
  });
}

function post(agent, port, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/classify', method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** True when the response carries exactly the reference logits (float32 bit-equal) and classes. */
function matches(response, reference) {
  if (response.status !== 200) return false;
  const { predictions } = JSON.parse(response.body);
  if (predictions.length * 10 !== reference.length) return false;
  for (let r = 0; r < predictions.length; r++) {
    const got = Float32Array.from(predictions[r].logits);
    for (let c = 0; c < 10; c++) if (got[c] !== reference[r * 10 + c]) return false;
  }
  return true;
}

async function drive(port, concurrency, references) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let next = 0;
  let mismatches = 0;
  let errors = 0;
  const firstProblems = [];
  const deadline = performance.now() + args.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < args.requests && performance.now() < deadline) {
        const j = next++ % payloads.length;
        const t = performance.now();
        try {
          const response = await post(agent, port, payloads[j]);
          latencies.push(performance.now() - t);
          if (!matches(response, references[j])) {
            mismatches++;
            if (firstProblems.length < 3) firstProblems.push(`payload ${j}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
          }
        } catch (err) {
          errors++;
          if (firstProblems.length < 3) firstProblems.push(`payload ${j}: ${err.message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    requests: latencies.length,
    imagesPerRequest: k,
    seconds: round(seconds),
    requestsPerSecond: round(latencies.length / seconds, 1),
    imagesPerSecond: round((latencies.length * k) / seconds, 1),
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
    mismatches,
    errors,
    ...(firstProblems.length ? { firstProblems } : {}),
  };
}

const results = { benchmark: 'HTTP classification service', model: args.model, machine: machineNote(), bounds: { requests: args.requests, seconds: args.seconds }, runs: [] };
for (const precision of args.precisions.split(',')) {
  // Reference first, alone on the machine: one single-call infer per distinct payload.
  const engine = await buildClassifier({ model: args.model, precision });
  const references = [];
  for (const p of payloads) references.push((await engine.infer(feedsFor(new Uint8Array(p)))).logits.data);
  await engine[Symbol.asyncDispose]();

  const server = await startServer(precision);
  try {
    for (const concurrency of levels) {
      const row = { precision, engine: server.engine, ...(await drive(server.port, concurrency, references)) };
      results.runs.push(row);
      console.log(
        `${precision.padEnd(5)} c=${String(concurrency).padStart(2)}: ${row.requestsPerSecond} req/s (${row.imagesPerSecond} img/s), ` +
          `p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, ${row.requests} requests, ${row.mismatches} mismatches, ${row.errors} errors`,
      );
      for (const p of row.firstProblems ?? []) console.log(`    ${p}`);
    }
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
  }
}
console.log(`wrote ${writeResult(args.out, results)}`);
const bad = results.runs.reduce((n, r) => n + r.mismatches + r.errors, 0);
if (bad > 0) {
  console.error(`${bad} responses differed from single-call infer or failed`);
  process.exitCode = 1;
}
