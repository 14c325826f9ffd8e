// INT8 on "hard" versions of the shared Fashion-MNIST models: FP32-identical models made by exact cross-layer
// rescaling (lib/models/hard.ts: channel scales spread over 1..maxScale), where plain per-tensor PTQ collapses.
// Per model and spread: FP32 top-1, plain entropy PTQ top-1 (no equalization, smoothing or bias correction, rules
// placement), and this project's INT8 (cross-layer equalization + smoothing + bias correction, and the accuracy
// budget of 0.5 pt on a held-out slice of the train split when asked). Top-1 on the 10k test split; calibration
// on a stratified 512-image subset of train; the budget's images come from train (seed 1 subset), never test.
// Usage: node bench/int8-hard.mjs [--models cnn,vgg16,mobilenet_v1] [--scales 300,3000] [--limit 10000]
//        [--threads 2] [--budget 0.005] [--budget-plain] [--out bench/results/int8-hard.json]
//        (build first: npx tsc -p tsconfig.json). --budget-plain: the accuracy budget alone, on plain PTQ (no
//        equalization, smoothing or bias correction), to show what mixed precision recovers by itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import '../dist/backends/onnxruntime/index.js';
import { fashionMnist, subset } from '../dist/data/index.js';
import { loadModel } from '../dist/onnx/index.js';
import { hardenModel } from '../dist/models/index.js';
import { quantizeModel } from '../dist/quantize/index.js';
import { top1 } from '../dist/quantize/budget.js';
import { readBatches } from '../dist/quantize/channels.js';
import { arg } from './args.mjs';

const models = arg('models', 'cnn,vgg16,mobilenet_v1').split(',');
const spreads = arg('scales', '300,3000').split(',').map(Number);
const limit = Number(arg('limit', 10000));
const threads = Number(arg('threads', 2));
const maxDrop = Number(arg('budget', 0.005));
const loadStart = loadavg()[0];
const train = await fashionMnist({ split: 'train' });
const test = await fashionMnist({ split: 'test' });
const calibSet = subset(train, 512, { stratified: true, seed: 0 });
const budgetSet = subset(train, 2000, { stratified: true, seed: 1 });
const testBatches = await readBatches(test, 'input', 256, limit);
const pct = (x) => +(x * 100).toFixed(2);
const rows = [];
for (const name of models) {
  const original = loadModel(`test/fixtures/models/fmnist_${name}.onnx`);
  const fp32Original = await top1(original, testBatches, { intraOpThreads: threads });
  for (const maxScale of spreads) {
    const { model: hard } = hardenModel(original, { maxScale, seed: 0 });
    const fp32 = await top1(hard, testBatches, { intraOpThreads: threads });
    const common = { precision: 'int8', data: calibSet, calibSize: 512, batchSize: 64, intraOpThreads: threads };
    const plain = await quantizeModel(hard, { ...common, equalize: false, smooth: false, biasCorrection: false });
    const plainTop1 = await top1(plain.model, testBatches, { intraOpThreads: threads, int8: true });
    const ours = await quantizeModel(hard, common);
    const oursTop1 = await top1(ours.model, testBatches, { intraOpThreads: threads, int8: true });
    const row = { model: name, maxScale, fp32OriginalTop1: pct(fp32Original), fp32Top1: pct(fp32), plainPtqTop1: pct(plainTop1), int8Top1: pct(oursTop1), int8Path: ours.report.path };
    const budgetPlain = process.argv.includes('--budget-plain');
    if (maxDrop > 0 && (budgetPlain || fp32 - oursTop1 > maxDrop)) {
      const t0 = performance.now();
      const methods = budgetPlain ? { equalize: false, smooth: false, biasCorrection: false } : {};
      const budgeted = await quantizeModel(hard, { ...common, ...methods, accuracyBudget: { data: budgetSet, maxDrop } });
      const b = budgeted.report.budget;
      row.budget = {
        maxDropPoints: maxDrop * 100,
        on: budgetPlain ? 'plain PTQ' : 'equalization + smoothing + bias correction',
        top1: pct(await top1(budgeted.model, testBatches, { intraOpThreads: threads, int8: true })),
        path: budgeted.report.path,
        kept: b.kept.map((k) => ({ node: k.node, opType: k.opType, budgetTop1Alone: pct(k.top1Alone), floatMs: k.floatMs, int8Ms: k.int8Ms })),
        budgetData: { images: b.images, fp32: pct(b.fp32), int8: pct(b.int8), chosen: pct(b.chosen) },
        evaluations: b.evaluations,
        seconds: +((performance.now() - t0) / 1000).toFixed(1),
      };
    }
    rows.push(row);
    console.log(`${name.padEnd(13)} 1..${String(maxScale).padEnd(5)} fp32 ${row.fp32Top1.toFixed(2)} (original ${row.fp32OriginalTop1.toFixed(2)})  plain PTQ ${row.plainPtqTop1.toFixed(2)}  int8 ${row.int8Top1.toFixed(2)}${row.budget ? `  budgeted ${row.budget.top1.toFixed(2)} (${row.budget.kept.length} float)` : ''}  ${row.int8Path}`);
  }
}
const result = {
  bench: 'int8-hard',
  date: new Date().toISOString(),
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart1m: loadStart, loadavg1m: loadavg()[0], threads, note: 'accuracy only (no timing except the budget\'s speed cost); shared machine' },
  testImages: testBatches.reduce((n, b) => n + b.labels.length, 0),
  calibImages: 512,
  rows,
};
mkdirSync('bench/results', { recursive: true });
const out = arg('out', 'bench/results/int8-hard.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
