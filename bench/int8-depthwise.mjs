// ONNX Runtime's int8 depthwise convolution against the channel count: four pointwise -> depthwise 3x3 -> pointwise
// blocks (BatchNorm, Relu; 64 input channels, 12x12, batch 64, 2 intra-op threads) at C depthwise channels, FP32
// against INT8 built with and without `padChannels` (lib/onnx/pad-channels.ts pads C to a multiple of 16, where ORT
// runs its symmetric depthwise kernel). Medians of 10 runs timed inside the session's worker after 3 warm-up runs, the
// variants alternating over --rounds rounds. Runs under the shared benchmark lock.
// Usage: node bench/int8-depthwise.mjs [--channels 58,64,116,128] [--rounds 5] [--out bench/results/int8-depthwise.json]
import { holdBenchLock } from './bench-lock.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { arg } from './args.mjs';

holdBenchLock();

await import('../dist/backends/onnxruntime/index.js');
const { synthetic } = await import('../dist/data/index.js');
const { serializeModel } = await import('../dist/onnx/index.js');
const { ModelBuilder } = await import('../dist/models/builder.js');
const { quantizeModel } = await import('../dist/quantize/index.js');
const { readBatches } = await import('../dist/quantize/channels.js');
const { WorkerSession } = await import('../dist/backends/onnxruntime/session.js');
const { ORT_DISABLED_OPTIMIZERS } = await import('../dist/onnx/qdq.js');
const { summarize } = await import('../dist/engine/stats.js');

const channels = arg('channels', '58,64,116,128').split(',').map(Number);
const rounds = Number(arg('rounds', '5'));
const out = arg('out', 'bench/results/int8-depthwise.json');
const [CIN, HW, BATCH, THREADS] = [64, 12, 64, 2];
const median = (xs) => summarize(Array.from(xs)).median;
const load = { start: loadavg()[0] };

function blocks(c) {
  const b = new ModelBuilder('random', 1);
  let x = { name: 'input', channels: CIN, height: HW, width: HW };
  for (let k = 0; k < 4; k++) {
    x = b.relu(b.batchNorm(b.conv(x, `l${k}.pw1`, c, 1, { pad: 0 }), `l${k}.bn1`), `l${k}.pw1`);
    x = b.batchNorm(b.conv(x, `l${k}.dw`, c, 3, { group: c }), `l${k}.bn2`);
    x = b.relu(b.batchNorm(b.conv(x, `l${k}.pw2`, CIN, 1, { pad: 0 }), `l${k}.bn3`), `l${k}.pw2`);
  }
  b.linear(b.flatten(b.globalAveragePool(x, 'gap'), 'flat'), 'fc', 10, 'logits');
  return b.model('dw_blocks', [CIN, HW, HW], 10, 'logits');
}

const shape = [CIN, HW, HW];
const feeds = (await readBatches(synthetic({ shape, count: BATCH, seed: 3, distribution: 'normal' }), 'input', BATCH, BATCH))[0].feeds;
const rows = [];
for (const c of channels) {
  const model = blocks(c);
  const calib = synthetic({ shape, count: 64, seed: 2, distribution: 'normal' });
  const build = (padChannels) => quantizeModel(model, { precision: 'int8', data: calib, calibSize: 64, batchSize: 32, intraOpThreads: THREADS, placement: 'rules', padChannels });
  const variants = [
    ['fp32', await WorkerSession.open(serializeModel(model), { intraOpThreads: THREADS })],
    ['int8', await WorkerSession.open(serializeModel((await build(false)).model), { intraOpThreads: THREADS, disabledOptimizers: ORT_DISABLED_OPTIMIZERS })],
    ['int8Padded', await WorkerSession.open(serializeModel((await build(true)).model), { intraOpThreads: THREADS, disabledOptimizers: ORT_DISABLED_OPTIMIZERS })],
  ];
  const times = Object.fromEntries(variants.map(([k]) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const [k, s] of order) times[k].push(median(await s.bench(feeds, 3, 10)));
  }
  for (const [, s] of variants) await s.close();
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +median(v).toFixed(3)]));
  rows.push({ channels: c, paddedTo: Math.ceil(c / 16) * 16, ms });
  console.log(`C ${String(c).padStart(4)}: fp32 ${ms.fp32} ms, int8 ${ms.int8} ms, int8 padded to ${Math.ceil(c / 16) * 16} ${ms.int8Padded} ms`);
}
const result = {
  bench: 'int8-depthwise',
  date: new Date().toISOString(),
  what: `4 x (1x1 conv ${CIN}->C, depthwise 3x3 C, 1x1 conv C->${CIN}), BatchNorm and Relu, ${HW}x${HW}, batch ${BATCH}, ${THREADS} intra-op threads; medians (ms) over ${rounds} alternating rounds of 10-run medians`,
  conditions: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg1m: { start: load.start, end: loadavg()[0] } },
  rows,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
