// Event-loop delay while inference runs: `concurrency` infer calls of one model at one batch size run back to
// back for `duration` seconds, and perf_hooks.monitorEventLoopDelay (resolution 1 ms) records how late the
// event loop was. Two ways in the same run: onnxruntime-node called directly (its run() computes on the main
// thread), and this library's engine on the onnxruntime backend (infer runs in a worker thread).
//
//   npx tsc -p tsconfig.json && node bench/service/eventloop.mjs [--duration 10] [--concurrency 8] [--batch 64]
//       [--model vgg16] [--modes idle,onnxruntime-node,tensorrt-node]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { fixture, testImages, normalizeImages, parseArgs, percentile, round, machineNote, writeResult, importLib } from './common.mjs';

const args = parseArgs({ duration: 10, concurrency: 8, batch: 64, model: 'vgg16', modes: 'idle,onnxruntime-node,tensorrt-node', out: 'service-eventloop' });
const modelPath = fixture(args.model);
const images = testImages(args.batch);
const input = normalizeImages(images.raw);
const dims = [args.batch, 1, 28, 28];

/** Run `call` from `concurrency` loops back to back for the duration, with the event-loop monitor on. */
async function measure(call) {
  const latencies = [];
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const deadline = performance.now() + args.duration * 1000;
  histogram.enable();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: call ? args.concurrency : 0 }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  if (!call) await new Promise((r) => setTimeout(r, args.duration * 1000));
  const elapsed = (performance.now() - started) / 1000;
  histogram.disable();
  latencies.sort((a, b) => a - b);
  const ms = (ns) => round(ns / 1e6);
  return {
    eventLoopDelayMs: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean), samples: histogram.count },
    infers: latencies.length,
    imagesPerSecond: round((latencies.length * args.batch) / elapsed, 1),
    inferLatencyMs: latencies.length ? { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) } : null,
    seconds: round(elapsed),
  };
}

function argmaxRows(logits) {
  const out = [];
  for (let r = 0; r < logits.length / 10; r++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[r * 10 + c] > logits[r * 10 + best]) best = c;
    out.push(best);
  }
  return out;
}

const results = { benchmark: 'event-loop delay during inference', model: args.model, batch: args.batch, concurrency: args.concurrency, durationS: args.duration, machine: machineNote(), modes: {} };
let reference;

for (const mode of args.modes.split(',')) {
  if (mode === 'idle') {
    results.modes.idle = await measure(null);
  } else if (mode === 'onnxruntime-node') {
    const session = await ort.InferenceSession.create(modelPath);
    const feeds = { input: new ort.Tensor('float32', input, dims) };
    reference = (await session.run(feeds)).logits.data;
    results.modes[mode] = await measure(() => session.run(feeds));
    await session.release();
  } else if (mode === 'tensorrt-node') {
    try {
      const { buildEngine } = await importLib();
      const engine = await buildEngine(modelPath, { backend: 'onnxruntime', precision: 'fp32' });
      try {
        const feeds = { input: { data: input, dims, dtype: 'float32' } };
        const logits = (await engine.infer(feeds)).logits.data;
        results.modes[mode] = await measure(() => engine.infer(feeds));
        if (reference) {
          let maxAbsDiff = 0;
          for (let i = 0; i < logits.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[i] - reference[i]));
          const same = argmaxRows(logits).every((c, i) => c === argmaxRows(reference)[i]);
          results.modes[mode].agreesWithOnnxruntimeNode = { maxAbsDiff, sameClasses: same };
        }
      } finally {
        await engine[Symbol.asyncDispose]();
      }
    } catch (err) {
      results.modes[mode] = { error: `${err.code ?? err.name}: ${err.message}` };
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const r = results.modes[mode];
  console.log(
    r.error
      ? `${mode.padEnd(18)} not measured: ${r.error}`
      : `${mode.padEnd(18)} event-loop delay p50 ${r.eventLoopDelayMs.p50} ms, p99 ${r.eventLoopDelayMs.p99} ms, max ${r.eventLoopDelayMs.max} ms; ` +
          `${r.infers} infers, ${r.imagesPerSecond} img/s` + (r.inferLatencyMs ? `, infer p50 ${r.inferLatencyMs.p50} ms` : ''),
  );
}
results.reference = 'onnxruntime-node 1.30 called directly, measured on the issue author\'s machine: event-loop delay p50 31 ms, p99 44 ms';
console.log(`wrote ${writeResult(args.out, results)}`);
