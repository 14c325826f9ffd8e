// Accuracy of the project's INT8 Q/DQ models vs FP32 on the Fashion-MNIST test split (10k), calibrated on a stratified
// subset of the train split; plus calibration overhead vs plain FP32 inference of the same calibration set.
// Usage: node bench/quant-accuracy.mjs [--models cnn,vgg16,mobilenet_v1] [--algorithms entropy,minmax,percentile]
//        [--calib-size 512] [--limit 10000] [--threads 2] [--seed 0 (which stratified calibration subset)]
//        [--repeat 1] [--overhead-only]
//        (build first: npx tsc -p tsconfig.json; the native addon for the statistics kernel: npx cmake-js compile)
// Overhead: calibration's run, statistics and threshold seconds (run and statistics measured in the worker that
// does them) against plain FP32 inference of the same batches (batch 64, same threads), timed after a warm-up
// pass over pre-built batches, as the engine runs it (ORT's pool threads spinning between runs, its default) and
// as the calibration session runs it (no spinning); the faster of the two is the "plain" of the ratios. With
// --repeat N each figure is the median of N, plain passes and calibrations alternating. --overhead-only skips the
// accuracy evaluation and writes bench/results/calib-overhead.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import '../dist/backends/onnxruntime/index.js';
import { buildEngine, loadEngine } from '../dist/engine/api.js';
import { fashionMnist, subset } from '../dist/data/index.js';
import { loadModel, serializeModel } from '../dist/onnx/index.js';
import { quantizeModel } from '../dist/quantize/index.js';
import { evaluateTop1 } from '../dist/quantize/evaluate.js';
import { summarize } from '../dist/engine/stats.js';
import { WorkerSession } from '../dist/backends/onnxruntime/session.js';
import { arg } from './args.mjs';

const models = arg('models', 'cnn,vgg16,mobilenet_v1').split(',');
const algorithms = arg('algorithms', 'entropy').split(',');
const calibSize = Number(arg('calib-size', 512));
const limit = Number(arg('limit', 10000));
const threads = Number(arg('threads', 2));
const seed = Number(arg('seed', 0));
const overheadOnly = process.argv.includes('--overhead-only');
const repeat = Number(arg('repeat', 1));
const median = (xs) => summarize(xs).median; // the project's one definition (lib/engine/stats.ts)
const session = { intraOpThreads: threads, interOpThreads: 1 };
const ORT_STATIC = { cnn: [90.75, 90.66], vgg16: [93.5, 93.46], mobilenet_v1: [93.72, 93.7] };

const loadStart = loadavg()[0];
const train = await fashionMnist({ split: 'train' });
const test = await fashionMnist({ split: 'test' });
const calibSet = subset(train, calibSize, { stratified: true, seed });
const rows = [];
for (const name of models) {
  const file = `test/fixtures/models/fmnist_${name}.onnx`;
  const fp32 = await buildEngine(file, { precision: 'fp32', backend: 'onnxruntime', session });
  const acc32 = overheadOnly ? undefined : await evaluateTop1(fp32, test, { limit, batchSize: 64 });
  // plain FP32 inference of the calibration set: same batches, batch size and threads, warm
  const batches = [];
  for await (const b of calibSet.batches({ batchSize: 64 })) batches.push(b.feeds);
  const noSpin = await WorkerSession.open(new Uint8Array(readFileSync(file)), { ...session, spinning: false });
  for (const feeds of batches) {
    await fp32.infer(feeds);
    await noSpin.run(feeds);
  }
  // plain passes and calibrations alternate, so a change in the machine's load hits both alike
  const plainRuns = [];
  const plainNoSpinRuns = [];
  const calibRuns = new Map(algorithms.map((a) => [a, []]));
  const quantized = new Map();
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    for (const feeds of batches) await fp32.infer(feeds);
    plainRuns.push((performance.now() - t0) / 1000);
    const t2 = performance.now();
    for (const feeds of batches) await noSpin.run(feeds);
    plainNoSpinRuns.push((performance.now() - t2) / 1000);
    for (const algorithm of algorithms) {
      const t1 = performance.now();
      const q = await quantizeModel(loadModel(file), { precision: 'int8', data: calibSet, algorithm, calibSize, batchSize: 64, intraOpThreads: threads });
      calibRuns.get(algorithm).push({ ...q.report.calibration, quantize: (performance.now() - t1) / 1000 });
      quantized.set(algorithm, q);
    }
  }
  const plainSeconds = Math.min(median(plainRuns), median(plainNoSpinRuns));
  fp32.dispose();
  await noSpin.close();
  for (const algorithm of algorithms) {
    const runs = calibRuns.get(algorithm);
    const q = quantized.get(algorithm);
    const c = Object.fromEntries(['run', 'stats', 'thresholds', 'quantize'].map((k) => [k, median(runs.map((x) => x[k]))]));
    const quantizeSeconds = c.quantize;
    let acc8;
    if (!overheadOnly) {
      const int8 = await loadEngine(serializeModel(q.model), { backend: 'onnxruntime', session });
      acc8 = await evaluateTop1(int8, test, { limit, batchSize: 64 });
      int8.dispose();
    }
    const row = {
      model: name,
      algorithm,
      calibImages: q.report.calibImages,
      ...(acc8 && acc32
        ? {
            count: acc8.count,
            fp32Top1: +(acc32.top1 * 100).toFixed(2),
            int8Top1: +(acc8.top1 * 100).toFixed(2),
            deltaPoints: +((acc8.top1 - acc32.top1) * 100).toFixed(2),
            ortQuantizeStatic: ORT_STATIC[name] ? { fp32: ORT_STATIC[name][0], int8: ORT_STATIC[name][1] } : undefined,
          }
        : {}),
      floatOps: q.report.qdq.float.map((f) => `${f.node} (${f.opType})`),
      calibration: {
        runSeconds: +c.run.toFixed(3),
        statsSeconds: +c.stats.toFixed(3),
        thresholdSeconds: +c.thresholds.toFixed(3),
        plainFp32Seconds: +plainSeconds.toFixed(3),
        plainFp32EngineSeconds: +median(plainRuns).toFixed(3),
        plainFp32NoSpinSeconds: +median(plainNoSpinRuns).toFixed(3),
        statsPlusThresholdsOverPlain: +((c.stats + c.thresholds) / plainSeconds).toFixed(2),
        calibrationTotalOverPlain: +((c.run + c.stats + c.thresholds) / plainSeconds).toFixed(2),
        quantizeModelSeconds: +quantizeSeconds.toFixed(2),
        repeat,
      },
    };
    rows.push(row);
    const k = row.calibration;
    if (acc8) console.log(`${name.padEnd(13)} ${algorithm.padEnd(10)} fp32 ${row.fp32Top1.toFixed(2)}  int8 ${row.int8Top1.toFixed(2)}  (${row.deltaPoints >= 0 ? '+' : ''}${row.deltaPoints.toFixed(2)} pts, n=${row.count})`);
    console.log(
      `${name.padEnd(13)} ${algorithm.padEnd(10)} calibration of ${row.calibImages} images: run ${k.runSeconds.toFixed(3)} s + stats ${k.statsSeconds.toFixed(3)} s + thresholds ${k.thresholdSeconds.toFixed(3)} s; plain fp32 ${k.plainFp32Seconds.toFixed(3)} s\n` +
        `${''.padEnd(24)} (stats + thresholds) / plain = ${k.statsPlusThresholdsOverPlain}x (target <= 1.5x), (run + stats + thresholds) / plain = ${k.calibrationTotalOverPlain}x`,
    );
  }
}
const result = {
  bench: overheadOnly ? 'calib-overhead' : 'quant-accuracy',
  date: new Date().toISOString(),
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart1m: loadStart, loadavg1m: loadavg()[0], threads, note: 'shared 2-core machine loaded by other jobs; accuracy is unaffected, seconds are perturbed' },
  calibSize,
  calibSeed: seed,
  rows,
};
mkdirSync('bench/results', { recursive: true });
const out = arg('out', overheadOnly ? 'bench/results/calib-overhead.json' : `bench/results/quant-accuracy${algorithms.length === 1 && algorithms[0] !== 'entropy' ? `-${algorithms[0]}` : ''}.json`);
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
