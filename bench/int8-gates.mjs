// Squeeze-excitation gates repeated along the width (lib/onnx/gate-spans.ts, QuantizeOptions.widenGates) against the
// same int8 model without that rewrite, on ONNX Runtime: MobileNetV3-Small and EfficientNet-B0 (lib/models/modern.ts),
// int8 with the rules placement, 2 threads, batch 8 and 64. Each round opens a fresh session of each model (FP32, int8
// without, int8 with) in turn and takes the median of `--iterations` runs timed inside its worker after 3 warm-up
// runs; the figures are the medians over `--rounds` rounds, with the per-round ratio without / with.
// Runs under the shared benchmark lock (re-executes itself under flock unless TRTN_BENCH_LOCKED=1).
// Usage: node bench/int8-gates.mjs [--models mobilenet_v3_small,efficientnet_b0] [--rounds 6] [--out bench/results/int8-gates.json]
//        (build first: npx tsc -p tsconfig.json)
import { holdBenchLock } from './bench-lock.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { arg } from './args.mjs';

holdBenchLock();

await import('../dist/backends/onnxruntime/index.js');
const { synthetic } = await import('../dist/data/index.js');
const { serializeModel } = await import('../dist/onnx/index.js');
const { generateModernModel } = await import('../dist/models/index.js');
const { quantizeModel } = await import('../dist/quantize/index.js');
const { WorkerSession } = await import('../dist/backends/onnxruntime/session.js');
const { ORT_DISABLED_OPTIMIZERS } = await import('../dist/onnx/qdq.js');

const models = arg('models', 'mobilenet_v3_small,efficientnet_b0').split(',');
const rounds = Number(arg('rounds', '6'));
const iterations = Number(arg('iterations', '10'));
const out = arg('out', 'bench/results/int8-gates.json');
const shape = [3, 96, 96];
const per = shape.reduce((a, b) => a * b, 1);
const median = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
const round2 = (x) => Math.round(x * 100) / 100;

const load = { start: +loadavg()[0].toFixed(2) };
const rows = [];
for (const name of models) {
  const model = generateModernModel(name, { inputShape: shape, classes: 100, seed: 1 });
  const variants = { fp32: serializeModel(model) };
  let widened = 0;
  for (const widenGates of [false, true]) {
    const q = await quantizeModel(model, { precision: 'int8', data: synthetic({ shape, count: 256, seed: 2, distribution: 'normal' }), calibSize: 256, batchSize: 32, intraOpThreads: 2, placement: 'rules', widenGates });
    variants[widenGates ? 'widened' : 'without'] = serializeModel(q.model);
    if (widenGates) widened = q.report.widenedGates?.length ?? 0;
  }
  const data = new Float32Array(64 * per).map((_, i) => Math.sin(i * 12.9898) * 1.5);
  const t = {};
  for (let r = 0; r < rounds; r++) {
    for (const [k, bytes] of Object.entries(variants)) {
      const s = await WorkerSession.open(bytes, { intraOpThreads: 2, interOpThreads: 1, ...(k === 'fp32' ? {} : { disabledOptimizers: ORT_DISABLED_OPTIMIZERS }) });
      for (const n of [8, 64]) {
        const feeds = { input: { data: data.slice(0, n * per), dims: [n, ...shape], dtype: 'float32' } };
        (t[`${k} ${n}`] ??= []).push(median(Array.from(await s.bench(feeds, 3, iterations))));
      }
      await s.close();
    }
  }
  const latency = {};
  for (const n of [8, 64]) {
    const [f, w, o] = ['fp32', 'widened', 'without'].map((k) => median(t[`${k} ${n}`]));
    latency[n] = { fp32Ms: round2(f), withoutMs: round2(o), widenedMs: round2(w), speedupWithout: round2(f / o), speedupWidened: round2(f / w), withoutOverWidened: t[`without ${n}`].map((v, i) => round2(v / t[`widened ${n}`][i])) };
  }
  rows.push({ model: name, widenedGates: widened, latency, loadavg1m: +loadavg()[0].toFixed(2) });
  for (const n of [8, 64]) {
    const l = latency[n];
    console.log(`${name} b${n}: fp32 ${l.fp32Ms} ms, int8 without ${l.withoutMs} ms (${l.speedupWithout}x), with ${widened} gates widened ${l.widenedMs} ms (${l.speedupWidened}x); per round without/with ${l.withoutOverWidened.join(' ')}`);
  }
}
load.end = +loadavg()[0].toFixed(2);
const result = { bench: 'int8-gates', date: new Date().toISOString(), conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg1m: load, threads: 2, rounds, iterations, inputShape: shape }, rows };
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
