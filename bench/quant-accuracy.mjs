// Accuracy of the project's INT8 Q/DQ models vs FP32 on the Fashion-MNIST test split (10k), calibrated on a stratified
// subset of the train split; plus calibration overhead vs plain FP32 inference of the same calibration set.
// Usage: node bench/quant-accuracy.mjs [--models cnn,vgg16,mobilenet_v1] [--algorithms entropy,minmax,percentile]
//        [--calib-size 512] [--limit 10000] [--threads 2] [--seed 0 (which stratified calibration subset)]
//        (build first: npx tsc -p tsconfig.json)
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import '../dist/backends/onnxruntime/index.js';
import { buildEngine, loadEngine } from '../dist/engine/api.js';
import { fashionMnist, subset } from '../dist/data/index.js';
import { loadModel, serializeModel } from '../dist/onnx/index.js';
import { quantizeModel } from '../dist/quantize/index.js';
import { evaluateTop1 } from '../dist/quantize/evaluate.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('models', 'cnn,vgg16,mobilenet_v1').split(',');
const algorithms = arg('algorithms', 'entropy').split(',');
const calibSize = Number(arg('calib-size', 512));
const limit = Number(arg('limit', 10000));
const threads = Number(arg('threads', 2));
const seed = Number(arg('seed', 0));
const session = { intraOpThreads: threads, interOpThreads: 1 };
const ORT_STATIC = { cnn: [90.75, 90.66], vgg16: [93.5, 93.46], mobilenet_v1: [93.72, 93.7] };

const train = await fashionMnist({ split: 'train' });
const test = await fashionMnist({ split: 'test' });
const calibSet = subset(train, calibSize, { stratified: true, seed });
const rows = [];
for (const name of models) {
  const file = `test/fixtures/models/fmnist_${name}.onnx`;
  const fp32 = await buildEngine(file, { precision: 'fp32', backend: 'onnxruntime', session });
  const acc32 = await evaluateTop1(fp32, test, { limit, batchSize: 64 });
  // plain FP32 inference time of the calibration set (same batch size as calibration)
  const t0 = performance.now();
  for await (const b of calibSet.batches({ batchSize: 64 })) await fp32.infer(b.feeds);
  const plainSeconds = (performance.now() - t0) / 1000;
  fp32.dispose();
  for (const algorithm of algorithms) {
    const t1 = performance.now();
    const q = await quantizeModel(loadModel(file), { precision: 'int8', data: calibSet, algorithm, calibSize, batchSize: 64, intraOpThreads: threads });
    const quantizeSeconds = (performance.now() - t1) / 1000;
    const int8 = await loadEngine(serializeModel(q.model), { backend: 'onnxruntime', session });
    const acc8 = await evaluateTop1(int8, test, { limit, batchSize: 64 });
    int8.dispose();
    const c = q.report.calibration;
    const row = {
      model: name,
      algorithm,
      calibImages: q.report.calibImages,
      count: acc8.count,
      fp32Top1: +(acc32.top1 * 100).toFixed(2),
      int8Top1: +(acc8.top1 * 100).toFixed(2),
      deltaPoints: +((acc8.top1 - acc32.top1) * 100).toFixed(2),
      ortQuantizeStatic: ORT_STATIC[name] ? { fp32: ORT_STATIC[name][0], int8: ORT_STATIC[name][1] } : undefined,
      floatOps: q.report.qdq.float.map((f) => `${f.node} (${f.opType})`),
      calibration: {
        runSeconds: +c.run.toFixed(3),
        statsSeconds: +c.stats.toFixed(3),
        thresholdSeconds: +c.thresholds.toFixed(3),
        plainFp32Seconds: +plainSeconds.toFixed(3),
        statsPlusThresholdsOverPlain: +((c.stats + c.thresholds) / plainSeconds).toFixed(2),
        calibrationTotalOverPlain: +((c.run + c.stats + c.thresholds) / plainSeconds).toFixed(2),
        quantizeModelSeconds: +quantizeSeconds.toFixed(2),
      },
    };
    rows.push(row);
    console.log(`${name.padEnd(13)} ${algorithm.padEnd(10)} fp32 ${row.fp32Top1.toFixed(2)}  int8 ${row.int8Top1.toFixed(2)}  (${row.deltaPoints >= 0 ? '+' : ''}${row.deltaPoints.toFixed(2)} pts, n=${row.count})  calib: stats+thresholds ${row.calibration.statsPlusThresholdsOverPlain}x plain fp32, total ${row.calibration.calibrationTotalOverPlain}x`);
  }
}
const result = {
  bench: 'quant-accuracy',
  date: new Date().toISOString(),
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg1m: loadavg()[0], threads, note: 'shared 2-core machine loaded by other jobs; accuracy is unaffected, seconds are perturbed' },
  calibSize,
  calibSeed: seed,
  rows,
};
mkdirSync('bench/results', { recursive: true });
const out = arg('out', `bench/results/quant-accuracy${algorithms.length === 1 && algorithms[0] !== 'entropy' ? `-${algorithms[0]}` : ''}.json`);
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
