#!/usr/bin/env node
// Latency/throughput of the fixture models per precision and batch size on TensorRT (CUDA-event timing), with
// Eq.19 speedup (latency_fp32 / latency_q) and Eq.20 improvement (throughput_q / throughput_fp32).
//   npx tsc -p tsconfig.json && node bench/trt-precisions.mjs [model ...]
// Writes bench/results/trt-precisions.json. Exits 0 with a message where TensorRT or a GPU is missing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tensorRtAvailability } from '../dist/backends/tensorrt/index.js';
import { buildEngine } from '../dist/engine/api.js';

const models = process.argv.slice(2).length ? process.argv.slice(2) : ['cnn', 'vgg16', 'mobilenet_v1'];
const availability = await tensorRtAvailability();
if (!availability.available) {
  console.log(`TensorRT benchmark skipped: ${availability.reason} (fix: ${availability.fix})`);
  process.exit(0);
}
const raw = gunzipSync(readFileSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz'));
const ITEM = 784;
async function* calibration() {
  for (let b = 0; b < 16; b++) {
    const data = new Float32Array(32 * ITEM);
    for (let i = 0; i < data.length; i++) data[i] = (raw[16 + b * 32 * ITEM + i] / 255 - 0.286) / 0.353;
    yield { input: { data, dims: [32, 1, 28, 28], dtype: 'float32' } };
  }
}
const batchSizes = [8, 16, 32, 64];
const results = { note: "trtexec's definitions: latency = H2D + GPU compute + D2H per query (CUDA events), gpuMs = compute, throughput = queries x batch / host wall time of a back-to-back run; one optimization profile per batch size", info: availability.info, models: {} };
for (const name of models) {
  const file = `test/fixtures/models/fmnist_${name}.onnx`;
  const perPrecision = {};
  for (const precision of ['fp32', 'fp16', 'int8']) {
    const engine = await buildEngine(file, { precision, backend: 'tensorrt', profileBatchSizes: batchSizes, ...(precision === 'int8' ? { calib: { data: calibration(), batchSize: 32 } } : {}) });
    const r = await engine.benchmark({ batchSizes, warmupMs: 200, iterations: 10, durationMs: 3000 });
    perPrecision[precision] = { path: engine.path, rows: r.rows };
    engine.dispose();
  }
  for (const precision of ['fp16', 'int8']) {
    perPrecision[precision].rows.forEach((row, i) => {
      const base = perPrecision.fp32.rows[i];
      row.speedupEq19 = base.latencyMs.median / row.latencyMs.median;
      row.improvementEq20 = row.throughput / base.throughput;
    });
  }
  results.models[name] = perPrecision;
  console.log(`\n${name}`);
  console.table(Object.entries(perPrecision).flatMap(([p, v]) => v.rows.map((r) => ({ precision: p, batch: r.batchSize, medianMs: +r.latencyMs.median.toFixed(4), p99Ms: +r.latencyMs.p99.toFixed(4), imgPerS: Math.round(r.throughput), speedup: r.speedupEq19?.toFixed(2) ?? '1.00' }))));
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/trt-precisions.json', JSON.stringify(results, null, 2));
console.log('wrote bench/results/trt-precisions.json');
