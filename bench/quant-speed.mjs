// INT8 (project Q/DQ) vs FP32 latency on ONNX Runtime CPU, batch 64, 2 intra-op threads, for the three fixtures and a
// generated ResNet-50 (3x48x48, residual Adds). Rounds alternate FP32 and INT8 so machine load hits both alike.
// Runs under the shared benchmark lock: it re-executes itself as `flock /tmp/trtn-bench.lock node ...` unless
// TRTN_BENCH_LOCKED=1 says the caller holds it already.
// Usage: node bench/quant-speed.mjs [--models cnn,vgg16,mobilenet_v1,resnet50] [--rounds 5] [--iterations 30]
//        [--placement auto|rules|measured (default auto)] [--kernel-profile 50] [--out bench/results/quant-speed.json]
//        (build first: npx tsc -p tsconfig.json)
// --kernel-profile N also runs each model N times with ONNX Runtime's profiler (same session settings) and sums, over
// the kernels, each kernel's 10th-percentile time: an estimate of the latency on a quiet machine, since load only
// lengthens kernels (it leaves out the small gaps between kernels).
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './args.mjs';

const LOCK = '/tmp/trtn-bench.lock';
if (process.env.TRTN_BENCH_LOCKED !== '1') {
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, TRTN_BENCH_LOCKED: '1' } });
  if (r.error) throw new Error(`cannot run under flock ${LOCK}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}

await import('../dist/backends/onnxruntime/index.js');
const { loadEngine } = await import('../dist/engine/api.js');
const { fashionMnist, subset, synthetic } = await import('../dist/data/index.js');
const { loadModel, serializeModel, foldBatchNorm } = await import('../dist/onnx/index.js');
const { generateModel } = await import('../dist/models/index.js');
const { quantizeModel } = await import('../dist/quantize/index.js');
const { ORT_DISABLED_OPTIMIZERS_KEY } = await import('../dist/onnx/qdq.js');
const ort = createRequire(import.meta.url)('onnxruntime-node');

/** Sum over kernels of each kernel's 10th-percentile duration (ms), from ORT's profiler, `runs` runs at `batch`. */
async function kernelSum(model, runs) {
  const dir = mkdtempSync(join(tmpdir(), 'trtn-kprof-'));
  const disabled = model.metadataProps?.find((e) => e.key === ORT_DISABLED_OPTIMIZERS_KEY)?.value;
  const s = await ort.InferenceSession.create(serializeModel(model), {
    graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: join(dir, 'p'),
    ...(disabled ? { extra: { 'optimization.disable_specified_optimizers': disabled } } : {}),
  });
  const dims = [batch, ...s.inputMetadata[0].shape.slice(1)];
  const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => (Math.sin(i) + 1) / 2), dims);
  for (let i = 0; i < runs + 5; i++) await s.run({ [s.inputNames[0]]: x });
  s.endProfiling();
  await s.release();
  const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const perKernel = new Map();
  for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) (perKernel.get(e.name) ?? perKernel.set(e.name, []).get(e.name)).push(e.dur);
  let sum = 0;
  for (const d of perKernel.values()) {
    const v = d.slice(5).sort((a, b) => a - b);
    sum += v[Math.floor(v.length / 10)] / 1000;
  }
  return sum;
}

const models = arg('models', 'cnn,vgg16,mobilenet_v1,resnet50').split(',');
const rounds = Number(arg('rounds', 5));
const iterations = Number(arg('iterations', 30));
const batch = Number(arg('batch', 64));
const placement = arg('placement', 'auto');
const kernelProfileRuns = Number(arg('kernel-profile', 0));
const session = { intraOpThreads: 2, interOpThreads: 1, graphOptimization: 'all' };
// INT8/FP32 speedup of ONNX Runtime's own quantize_static output on this machine (issue #4); residual networks:
// "about 2.5x slower than FP32".
const REFERENCE = { vgg16: 1.58, mobilenet_v1: 1.04, resnet50: 1 / 2.5 };
const train = await fashionMnist({ split: 'train' });
const loadBefore = loadavg();

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
  const q = await quantizeModel(fp32Model, { precision: 'int8', data: calibData, algorithm: 'entropy', batchSize: 64, placement, intraOpThreads: 2 });
  const engines = {
    fp32: await loadEngine(serializeModel(fp32Model), { backend: 'onnxruntime', session }),
    int8: await loadEngine(serializeModel(q.model), { backend: 'onnxruntime', session }),
  };
  const medians = { fp32: [], int8: [] };
  const mins = { fp32: [], int8: [] };
  for (let r = 0; r < rounds; r++) {
    for (const p of r % 2 === 0 ? ['fp32', 'int8'] : ['int8', 'fp32']) {
      const res = await engines[p].benchmark({ batchSizes: [batch], warmup: 5, iterations });
      medians[p].push(res.rows[0].latencyMs.median);
      mins[p].push(res.rows[0].latencyMs.min);
    }
  }
  for (const e of Object.values(engines)) await e[Symbol.asyncDispose]();
  const kernels = kernelProfileRuns > 0 ? { fp32: await kernelSum(fp32Model, kernelProfileRuns), int8: await kernelSum(q.model, kernelProfileRuns) } : undefined;
  const best = (a) => Math.min(...a);
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const row = {
    model: name,
    batch,
    fp32MedianMs: +med(medians.fp32).toFixed(2),
    int8MedianMs: +med(medians.int8).toFixed(2),
    fp32RoundMediansMs: medians.fp32.map((v) => +v.toFixed(2)),
    int8RoundMediansMs: medians.int8.map((v) => +v.toFixed(2)),
    speedupOfMedians: +(med(medians.fp32) / med(medians.int8)).toFixed(2),
    speedupOfBest: +(best(medians.fp32) / best(medians.int8)).toFixed(2),
    // fastest single run of each (what the models take when the machine leaves them alone)
    fp32MinMs: +best(mins.fp32).toFixed(2),
    int8MinMs: +best(mins.int8).toFixed(2),
    speedupOfMins: +(best(mins.fp32) / best(mins.int8)).toFixed(2),
    ...(kernels
      ? { fp32KernelSumMs: +kernels.fp32.toFixed(2), int8KernelSumMs: +kernels.int8.toFixed(2), speedupOfKernelSums: +(kernels.fp32 / kernels.int8).toFixed(2) }
      : {}),
    ortQuantizeStaticSpeedup: REFERENCE[name] !== undefined ? +REFERENCE[name].toFixed(2) : null,
    fp32Throughput: +((batch * 1000) / med(medians.fp32)).toFixed(0),
    int8Throughput: +((batch * 1000) / med(medians.int8)).toFixed(0),
    placement: q.report.placement?.summary ?? 'rules',
    floatOps: q.report.qdq.float.map((f) => `${f.node} (${f.opType}): ${f.reason}`),
  };
  rows.push(row);
  const ref = row.ortQuantizeStaticSpeedup !== null ? `  (ORT quantize_static: ${row.ortQuantizeStaticSpeedup}x)` : '';
  console.log(
    `${name.padEnd(13)} fp32 ${row.fp32MedianMs.toFixed(2).padStart(7)} ms  int8 ${row.int8MedianMs.toFixed(2).padStart(7)} ms  speedup ${row.speedupOfMedians.toFixed(2)}x (best rounds ${row.speedupOfBest.toFixed(2)}x, fastest runs ${row.speedupOfMins.toFixed(2)}x)${ref}`,
  );
  if (kernels) console.log(`${''.padEnd(13)} kernel sums (p10 per kernel, ${kernelProfileRuns} runs): fp32 ${row.fp32KernelSumMs} ms  int8 ${row.int8KernelSumMs} ms  speedup ${row.speedupOfKernelSums.toFixed(2)}x`);
  console.log(`${''.padEnd(13)} rounds fp32 ${row.fp32RoundMediansMs.join('/')}  int8 ${row.int8RoundMediansMs.join('/')}; float: ${q.report.qdq.float.map((f) => f.node).join(', ') || 'none'}`);
}
const loadAfter = loadavg();
console.log(`load average before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`);
const result = {
  bench: 'quant-speed',
  date: new Date().toISOString(),
  conditions: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    loadavgBefore: loadBefore.map((v) => +v.toFixed(2)),
    loadavgAfter: loadAfter.map((v) => +v.toFixed(2)),
    intraOpThreads: 2,
    batch,
    iterations,
    rounds,
    placement,
    kernelProfileRuns,
    lock: LOCK,
    note: 'shared 2-core machine; other jobs load it, so per-round medians are listed; resnet50 is generated (random weights, BN folded), calibrated on synthetic normal data; ortQuantizeStaticSpeedup is the reference of issue #4',
  },
  rows,
};
mkdirSync('bench/results', { recursive: true });
const out = arg('out', 'bench/results/quant-speed.json');
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
