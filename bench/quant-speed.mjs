// INT8 (project Q/DQ) vs FP32 latency on ONNX Runtime CPU, batch 64, 2 intra-op threads, for the three fixtures and a
// generated ResNet-50 (3x48x48, residual Adds). Rounds alternate FP32 and INT8 so machine load hits both alike.
// Usage: node bench/quant-speed.mjs [--models cnn,vgg16,mobilenet_v1,resnet50] [--rounds 3] [--iterations 30]
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import '../dist/backends/onnxruntime/index.js';
import { buildEngine, loadEngine } from '../dist/engine/api.js';
import { fashionMnist, subset, synthetic } from '../dist/data/index.js';
import { loadModel, serializeModel, foldBatchNorm } from '../dist/onnx/index.js';
import { generateModel } from '../dist/models/index.js';
import { quantizeModel } from '../dist/quantize/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('models', 'cnn,vgg16,mobilenet_v1,resnet50').split(',');
const rounds = Number(arg('rounds', 3));
const iterations = Number(arg('iterations', 30));
const batch = Number(arg('batch', 64));
const session = { intraOpThreads: 2, interOpThreads: 1, graphOptimization: 'all' };
const train = await fashionMnist({ split: 'train' });

const rows = [];
for (const name of models) {
  let fp32Model;
  let calibData;
  if (name === 'resnet50') {
    fp32Model = foldBatchNorm(generateModel('resnet50', { inputShape: [3, 48, 48], classes: 10, seed: 1 }));
    calibData = synthetic({ shape: [3, 48, 48], count: 128, seed: 2, distribution: 'normal' });
  } else {
    fp32Model = loadModel(`test/fixtures/models/fmnist_${name}.onnx`);
    calibData = subset(train, 512, { seed: 0 });
  }
  const q = await quantizeModel(fp32Model, { precision: 'int8', data: calibData, algorithm: 'entropy', batchSize: 64 });
  const engines = {
    fp32: await loadEngine(serializeModel(fp32Model), { backend: 'onnxruntime', session }),
    int8: await loadEngine(serializeModel(q.model), { backend: 'onnxruntime', session }),
  };
  const medians = { fp32: [], int8: [] };
  for (let r = 0; r < rounds; r++) {
    for (const p of r % 2 === 0 ? ['fp32', 'int8'] : ['int8', 'fp32']) {
      const res = await engines[p].benchmark({ batchSizes: [batch], warmup: 5, iterations });
      medians[p].push(res.rows[0].latencyMs.median);
    }
  }
  for (const e of Object.values(engines)) await e[Symbol.asyncDispose]();
  const best = (a) => Math.min(...a);
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const row = {
    model: name,
    batch,
    fp32MedianMs: medians.fp32.map((v) => +v.toFixed(2)),
    int8MedianMs: medians.int8.map((v) => +v.toFixed(2)),
    speedupOfMedians: +(med(medians.fp32) / med(medians.int8)).toFixed(2),
    speedupOfBest: +(best(medians.fp32) / best(medians.int8)).toFixed(2),
    fp32Throughput: +((batch * 1000) / med(medians.fp32)).toFixed(0),
    int8Throughput: +((batch * 1000) / med(medians.int8)).toFixed(0),
    floatOps: q.report.qdq.float.length,
  };
  rows.push(row);
  console.log(`${name.padEnd(13)} fp32 ${row.fp32MedianMs.join('/')} ms  int8 ${row.int8MedianMs.join('/')} ms  speedup ${row.speedupOfMedians}x (best ${row.speedupOfBest}x)`);
}
const result = {
  bench: 'quant-speed',
  date: new Date().toISOString(),
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg1m: loadavg()[0], intraOpThreads: 2, batch, iterations, rounds, note: 'shared 2-core machine; other helpers load it, so medians per round are listed; resnet50 is generated (random weights, BN folded), calibrated on synthetic normal data' },
  rows,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/quant-speed.json', JSON.stringify(result, null, 2) + '\n');
console.log('wrote bench/results/quant-speed.json');
