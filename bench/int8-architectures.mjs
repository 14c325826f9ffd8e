// INT8 on modern architectures (lib/models/modern.ts) on ONNX Runtime: FP32 vs INT8 latency at batch 8 and 64 with
// 2 intra-op threads, and the cosine of the logits against FP32 on synthetic input (normal, seeded). Where the int8
// build padded depthwise channels (lib/onnx/pad-channels.ts), FP32 with the same padding is timed too (fp32PaddedMs).
// inputRoundedCosine: FP32's own logits cosine when only its input is rounded to 8 bits (the network's sensitivity). Calibration on
// 256 synthetic images. Which ops stayed float, and why, comes from the quantization report. Latency: median of
// `--iterations` session runs timed inside the session's worker after 3 warm-up runs, FP32 and INT8 alternating
// over `--rounds` rounds (the medians of the rounds' medians), run under `flock /tmp/trtn-bench.lock`.
// With a timed placement (auto, measured) that kept regions float, the rules placement is timed in the same rounds
// (int8RulesMs, overRules: rules time / chosen time).
// --profile adds, per model and batch 64, where the time goes: ONNX Runtime's per-node kernel times (profiling on, the
// median over 20 runs after 3 warm-up runs of each node, summed by the op ONNX Runtime ran; convolutions split into depthwise and other,
// binary ops into broadcast and same-shape), FP32 against INT8 (the rules placement when the chosen one keeps no Q/DQ),
// to show which kernels gain and which lose.
// Usage: flock /tmp/trtn-bench.lock node bench/int8-architectures.mjs [--models mobilenet_v2,...] [--size 96]
//        [--placement rules|auto] [--iterations 10] [--rounds 3] [--profile] [--out bench/results/int8-architectures.json]
//        [--reduce-range true|false (7- or 8-bit weights; default 7-bit, depthwise 8-bit: QuantizeOptions.reduceRange)]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import '../dist/backends/onnxruntime/index.js';
import { synthetic } from '../dist/data/index.js';
import { serializeModel } from '../dist/onnx/index.js';
import { generateModernModel, MODERN_MODEL_NAMES } from '../dist/models/index.js';
import { quantizeModel } from '../dist/quantize/index.js';
import { readBatches } from '../dist/quantize/channels.js';
import { summarize } from '../dist/engine/stats.js';
import { WorkerSession } from '../dist/backends/onnxruntime/session.js';
import { ORT_DISABLED_OPTIMIZERS } from '../dist/onnx/qdq.js';
import { foldBatchNorm } from '../dist/onnx/fold.js';
import { padDepthwiseChannels } from '../dist/onnx/pad-channels.js';
import { arg } from './args.mjs';

const models = arg('models', MODERN_MODEL_NAMES.join(',')).split(',');
const size = Number(arg('size', 96));
const placement = arg('placement', 'rules');
const iterations = Number(arg('iterations', 10));
const rounds = Number(arg('rounds', 3));
const reduceRange = arg('reduce-range', undefined);
const threads = 2;
const batches = [8, 64];
const median = (xs) => summarize(xs).median;
const profile = process.argv.includes('--profile');
const ort = createRequire(import.meta.url)('onnxruntime-node');

/**
 * Per-op kernel time (ms) of one model at one batch: ONNX Runtime profiling, each node's median over `runs` runs (after
 * 3 warm-up runs), summed by the op ONNX Runtime ran. Conv/QLinearConv are split into depthwise (a Conv of `graph` with
 * group = input channels, found by the node-name prefix ORT keeps) and other; Mul/Add/QLinearMul/QLinearAdd into
 * broadcast (input shapes differ) and same-shape.
 */
async function kernelProfile(bytes, graph, feeds, int8, runs = 20) {
  const dir = mkdtempSync(join(tmpdir(), 'trtn-int8-profile-'));
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: join(dir, 'p'), logSeverityLevel: 3,
    ...(int8 ? { extra: { 'optimization.disable_specified_optimizers': ORT_DISABLED_OPTIMIZERS.join(';') } } : {}),
  });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.dims)]));
  for (let i = 0; i < runs + 3; i++) await session.run(ortFeeds);
  session.endProfiling();
  await session.release();
  const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const depthwise = graph.nodes
    .filter((n) => n.opType === 'Conv' && n.name && (n.attributes.find((a) => a.name === 'group')?.i ?? 1) > 1)
    .map((n) => n.name)
    .sort((a, b) => b.length - a.length);
  const shapeOf = (x) => JSON.stringify(Object.values(x ?? {})[0]);
  const best = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const op = e.args.op_name;
    const inputs = e.args.input_type_shape ?? [];
    let key = op;
    if (op === 'Conv' || op === 'QLinearConv' || op === 'FusedConv') key += depthwise.some((d) => node === d || node.startsWith(`${d}.`) || node.startsWith(`${d}_`)) ? ' depthwise' : '';
    if (['Mul', 'Add'].includes(op)) key += shapeOf(inputs[0]) === shapeOf(inputs[1]) ? '' : ' broadcast';
    if (['QLinearMul', 'QLinearAdd'].includes(op)) key += shapeOf(inputs[0]) === shapeOf(inputs[3]) ? '' : ' broadcast';
    const b = best.get(node) ?? { key, us: [] };
    b.us.push(e.dur);
    best.set(node, b);
  }
  const byOp = {};
  for (const { key, us } of best.values()) byOp[key] = (byOp[key] ?? 0) + median(us.slice(3)) / 1000;
  const sorted = Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(3)]));
  return { kernelMs: +Object.values(byOp).reduce((a, b) => a + b, 0).toFixed(2), byOp: sorted };
}
const loadStart = loadavg()[0];
const rows = [];

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

for (const name of models) {
  const shape = name === 'vit_encoder' ? [3, 64, 64] : [3, size, size];
  const model = generateModernModel(name, { inputShape: shape, classes: 100, seed: 1 });
  const calib = synthetic({ shape, count: 256, seed: 2, distribution: 'normal' });
  const t0 = performance.now();
  const q = await quantizeModel(model, { precision: 'int8', data: calib, calibSize: 256, batchSize: 32, intraOpThreads: threads, placement, measure: { batchSize: 64 }, ...(reduceRange ? { reduceRange: reduceRange === 'true' } : {}) });
  const quantizeSeconds = (performance.now() - t0) / 1000;
  const evalBatch = (await readBatches(synthetic({ shape, count: 64, seed: 3, distribution: 'normal' }), 'input', 64, 64))[0];
  const fp32 = await WorkerSession.open(serializeModel(model), { intraOpThreads: threads, interOpThreads: 1 });
  const int8 = await WorkerSession.open(serializeModel(q.model), { intraOpThreads: threads, interOpThreads: 1, disabledOptimizers: ORT_DISABLED_OPTIMIZERS });
  const a = Object.values(await fp32.run(evalBatch.feeds))[0].data;
  const b = Object.values(await int8.run(evalBatch.feeds))[0].data;
  const cos = cosine(a, b);
  // How much one 8-bit rounding costs this network on its own: FP32 on the input rounded to 8 bits (symmetric,
  // max |x| / 127 a step), against FP32 on the input as is. A network that amplifies small perturbations loses
  // cosine here already, before any layer is quantized.
  const x = evalBatch.feeds.input.data;
  const step = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
  const rounded = Object.values(await fp32.run({ input: { ...evalBatch.feeds.input, data: x.map((v) => Math.round(v / step) * step) } }))[0].data;
  const inputRoundedCosine = +cosine(a, rounded).toFixed(4);
  // The channel padding of the int8 build (lib/onnx/pad-channels.ts) speeds FP32's kernels too: FP32 with the same
  // padding is timed beside, so that what INT8 itself gains shows.
  const padded = q.report.paddedChannels?.length ? await WorkerSession.open(serializeModel(padDepthwiseChannels(foldBatchNorm(model)).model), { intraOpThreads: threads, interOpThreads: 1 }) : undefined;
  // A timed placement that kept regions float (a float prefix, measured regions) is timed beside the rules placement
  // (every region int8) in the same rounds, so what the timing bought shows apart from run-to-run drift.
  const timedFloat = placement !== 'rules' && (q.report.placement?.decisions.some((d) => d.choice === 'float') ?? false) && q.report.qdq.quantized.length > 0;
  const rulesModel = timedFloat ? (await quantizeModel(model, { precision: 'int8', data: calib, calibSize: 256, batchSize: 32, intraOpThreads: threads, placement: 'rules', ...(reduceRange ? { reduceRange: reduceRange === 'true' } : {}) })).model : undefined;
  const rules = rulesModel ? await WorkerSession.open(serializeModel(rulesModel), { intraOpThreads: threads, interOpThreads: 1, disabledOptimizers: ORT_DISABLED_OPTIMIZERS }) : undefined;
  const latency = {};
  for (const n of batches) {
    const feeds = { input: { data: evalBatch.feeds.input.data.slice(0, n * shape[0] * shape[1] * shape[2]), dims: [n, ...shape], dtype: 'float32' } };
    const f = [];
    const i8 = [];
    const fp = [];
    const rl = [];
    for (let r = 0; r < rounds; r++) {
      const order = [[fp32, f], [int8, i8], ...(padded ? [[padded, fp]] : []), ...(rules ? [[rules, rl]] : [])];
      if (r % 2 === 1) order.reverse();
      for (const [s, out] of order) out.push(median(Array.from(await s.bench(feeds, 3, iterations))));
    }
    latency[n] = { fp32Ms: +median(f).toFixed(2), int8Ms: +median(i8).toFixed(2), speedup: +(median(f) / median(i8)).toFixed(2), ...(padded ? { fp32PaddedMs: +median(fp).toFixed(2), speedupOverPadded: +(median(fp) / median(i8)).toFixed(2) } : {}), ...(rules ? { int8RulesMs: +median(rl).toFixed(2), overRules: +(median(rl) / median(i8)).toFixed(2) } : {}) };
  }
  await rules?.close();
  await fp32.close();
  await int8.close();
  await padded?.close();
  let kernels;
  if (profile) {
    const feeds = { input: { data: evalBatch.feeds.input.data, dims: [64, ...shape], dtype: 'float32' } };
    // a placement that kept no Q/DQ is the FP32 model: profile the rules placement (every layer int8) to show why
    const allFloat = q.report.qdq.quantized.length === 0;
    const profiled = allFloat ? (await quantizeModel(model, { precision: 'int8', data: calib, calibSize: 256, batchSize: 32, intraOpThreads: threads, placement: 'rules' })).model : q.model;
    kernels = { batch: 64, int8Placement: allFloat ? 'rules (the chosen placement keeps no Q/DQ)' : placement, fp32: await kernelProfile(serializeModel(model), model.graph, feeds, false), int8: await kernelProfile(serializeModel(profiled), profiled.graph, feeds, true) };
  }
  // ops left float, grouped by op type and reason
  const floatOps = {};
  for (const e of q.report.qdq.float) {
    const key = `${e.opType}: ${e.reason}`;
    floatOps[key] = (floatOps[key] ?? 0) + 1;
  }
  const p = q.report.placement;
  // the measured margins that decided ('auto'/'measured'): per round FP32 / rules-placement time, all-float / int8
  const decided = p ? { summary: p.summary, fp32OverRules: p.fp32OverRules, allFloatOverInt8: p.allFloatOverInt8, regionsWithinNoise: p.decisions.filter((d) => d.decidedBy === 'within noise').length, regionsMeasured: p.decisions.filter((d) => d.decidedBy === 'measured').length, prefixes: p.prefixes } : undefined;
  const row = { model: name, inputShape: shape, path: q.report.path, weights: q.report.weights, quantizedLayers: q.report.qdq.quantized.length, int8Ops: q.report.qdq.int8.length, cosine: +cos.toFixed(4), inputRoundedCosine, latency, floatOps, ...(decided ? { placement: decided } : {}), ...(kernels ? { kernels } : {}), quantizeSeconds: +quantizeSeconds.toFixed(1), loadavg1m: loadavg()[0] };
  rows.push(row);
  console.log(`${name.padEnd(19)} cos ${row.cosine.toFixed(4)} (fp32 on 8-bit input ${inputRoundedCosine.toFixed(4)})  b8 ${latency[8].fp32Ms} -> ${latency[8].int8Ms} ms (${latency[8].speedup}x)  b64 ${latency[64].fp32Ms} -> ${latency[64].int8Ms} ms (${latency[64].speedup}x)  [${row.quantizedLayers} int8 layers; load ${row.loadavg1m.toFixed(1)}]`);
  if (latency[8].int8RulesMs !== undefined) console.log(`${''.padEnd(21)}int8 with the rules placement (every region int8), same rounds: b8 ${latency[8].int8RulesMs} ms (${placement} ${latency[8].overRules}x faster)  b64 ${latency[64].int8RulesMs} ms (${latency[64].overRules}x)`);
  if (latency[8].fp32PaddedMs !== undefined) console.log(`${''.padEnd(21)}fp32 with the int8 build's channel padding: b8 ${latency[8].fp32PaddedMs} ms (int8 ${latency[8].speedupOverPadded}x)  b64 ${latency[64].fp32PaddedMs} ms (int8 ${latency[64].speedupOverPadded}x)`);
  for (const [k, v] of Object.entries(floatOps)) console.log(`${''.padEnd(21)}float: ${v} x ${k}`);
  if (kernels) {
    const ops = [...new Set([...Object.keys(kernels.fp32.byOp), ...Object.keys(kernels.int8.byOp)])];
    console.log(`${''.padEnd(21)}kernels (batch 64, ms, sum of per-node medians; int8 placement ${kernels.int8Placement}): fp32 ${kernels.fp32.kernelMs} int8 ${kernels.int8.kernelMs}`);
    for (const o of ops) console.log(`${''.padEnd(23)}${o.padEnd(28)} fp32 ${String(kernels.fp32.byOp[o] ?? '-').padStart(7)}  int8 ${String(kernels.int8.byOp[o] ?? '-').padStart(7)}`);
  }
}
const result = {
  bench: 'int8-architectures',
  date: new Date().toISOString(),
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavgAtStart1m: loadStart, loadavg1m: loadavg()[0], threads, iterations, rounds, placement, ...(reduceRange ? { reduceRange: reduceRange === 'true' } : {}), note: 'shared 2-core machine: timed runs hold /tmp/trtn-bench.lock, other untimed work may run beside them (see the load figures); FP32 and INT8 alternate so load hits both alike' },
  rows,
};
mkdirSync('bench/results', { recursive: true });
const out = arg('out', 'bench/results/int8-architectures.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
