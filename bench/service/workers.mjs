// Worker threads each holding an engine: `workers` threads build their own engine (onnxruntime backend) and run
// infer on their own slice of the Fashion-MNIST test split for `seconds`; every result is compared with the
// logits the main thread's engine gives for the same images, then each worker disposes and exits.
//
//   npx tsc -p tsconfig.json && node bench/service/workers.mjs [--workers 4] [--seconds 30] [--model cnn]
//       [--precision fp32] [--batch 32] [--host default|process|thread]
// --host: where each worker's engine hosts its ONNX Runtime session (default: a child process, as in any worker).
// TRTN_LIB_DIR names another compiled library directory than dist/ (test/workers uses a private tsc output).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { fixture, testImages, normalizeImages, parseArgs, round, machineNote, writeResult, importLib } from './common.mjs';

function feeds(images, start, batch) {
  const raw = images.raw.subarray(start * 784, (start + batch) * 784);
  return { input: { data: normalizeImages(raw), dims: [batch, 1, 28, 28], dtype: 'float32' } };
}

async function workerMain() {
  const { id, model, precision, batch, seconds, references, slices, host } = workerData;
  const { buildEngine } = await importLib();
  const images = testImages(10_000);
  const engine = await buildEngine(fixture(model), { backend: 'onnxruntime', precision, ...(host !== 'default' ? { session: { host } } : {}) });
  let infers = 0;
  let mismatches = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const s = slices[infers % slices.length];
    const logits = (await engine.infer(feeds(images, s, batch))).logits.data;
    const ref = references[infers % slices.length];
    for (let i = 0; i < ref.length; i++) if (logits[i] !== ref[i]) { mismatches++; break; }
    infers++;
  }
  await engine[Symbol.asyncDispose]();
  parentPort.postMessage({ id, infers, mismatches, disposed: engine.disposed });
}

async function main() {
  const args = parseArgs({ workers: 4, seconds: 30, model: 'cnn', precision: 'fp32', batch: 32, host: 'default', out: 'service-workers' });
  const { buildEngine } = await importLib();
  const images = testImages(10_000);
  // Each worker gets 8 batches of its own; the main thread's engine computes the expected logits.
  const engine = await buildEngine(fixture(args.model), { backend: 'onnxruntime', precision: args.precision });
  const plans = [];
  for (let w = 0; w < args.workers; w++) {
    const slices = Array.from({ length: 8 }, (_, j) => (w * 8 + j) * args.batch);
    const references = [];
    for (const s of slices) references.push((await engine.infer(feeds(images, s, args.batch))).logits.data);
    plans.push({ slices, references });
  }
  await engine[Symbol.asyncDispose]();

  const started = performance.now();
  const results = await Promise.all(
    plans.map(
      (plan, id) =>
        new Promise((resolvePromise, reject) => {
          const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { id, ...args, ...plan } });
          let report;
          worker.once('message', (m) => (report = m));
          worker.once('error', reject);
          worker.once('exit', (code) => (report ? resolvePromise({ ...report, exitCode: code }) : reject(new Error(`worker ${id} exited with ${code} before reporting`))));
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  const total = results.reduce((n, r) => n + r.infers, 0);
  const mismatches = results.reduce((n, r) => n + r.mismatches, 0);
  const clean = results.every((r) => r.exitCode === 0 && r.disposed);
  const out = {
    benchmark: 'worker threads each holding an engine',
    model: args.model, precision: args.precision, batch: args.batch, workers: args.workers, seconds: args.seconds,
    sessionHost: args.host === 'default' ? 'process (default in a worker thread)' : args.host,
    machine: machineNote(),
    perWorker: results,
    totalInfers: total,
    imagesPerSecond: round((total * args.batch) / elapsed, 1),
    mismatches,
    cleanExit: clean,
  };
  for (const r of results) console.log(`worker ${r.id}: ${r.infers} infers, ${r.mismatches} mismatches, exit ${r.exitCode}, disposed ${r.disposed}`);
  console.log(`${args.workers} workers x ${args.seconds} s: ${total} infers (${out.imagesPerSecond} img/s), ${mismatches} mismatches, clean exit: ${clean}`);
  if (args.out !== 'none') console.log(`wrote ${writeResult(args.out, out)}`);
  if (mismatches > 0 || !clean) process.exitCode = 1;
}

if (isMainThread) await main();
else await workerMain();
