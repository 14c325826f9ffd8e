// Data-loading throughput: Fashion-MNIST batches and an image folder of JPEGs decoded by sharp.
// Build first: npx tsc -p tsconfig.json. Run: node bench/data-throughput.mjs [--images 400] [--epochs 3]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { fashionMnist, imageFolder } from '../dist/data/index.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const IMAGES = arg('images', 400);
const EPOCHS = arg('epochs', 3);
const here = dirname(fileURLToPath(import.meta.url));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const busy = (ms) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One pass over `dataset`. The consumer spends `consumerMs` per batch: 'async' awaits that long (inference
 * running off the main thread, as onnxruntime-node and TensorRT enqueue do); 'sync' busy-waits on the main thread.
 */
async function pass(dataset, options, consumerMs = 0, mode = 'async') {
  const waits = [];
  let items = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const it = dataset.batches(options)[Symbol.asyncIterator]();
  for (;;) {
    const asked = performance.now();
    const r = await it.next();
    if (r.done) break;
    waits.push(performance.now() - asked);
    items += r.value.feeds.input.dims[0];
    if (consumerMs > 0) {
      if (mode === 'sync') busy(consumerMs);
      else await sleep(consumerMs);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { items, seconds, imagesPerSecond: items / seconds, waits, cpuMsPerItem: (cpu.user + cpu.system) / 1000 / items };
}

function waitSummary(waits) {
  const steady = waits.slice(1); // the first batch always waits for the pipeline to fill
  return {
    firstBatchMs: round(waits[0], 2),
    steadyMedianMs: round(median(steady), 3),
    steadyP90Ms: round(pct(steady, 90), 3),
    steadyMaxMs: round(Math.max(...steady), 3),
    batchesWaitingOver1ms: steady.filter((w) => w > 1).length,
    batches: waits.length,
  };
}

const results = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, availableParallelism: availableParallelism(), loadavgAtStart: loadavg().map((x) => round(x, 2)) },
  node: process.version,
  sharp: { version: sharp.versions.sharp, vips: sharp.versions.vips, concurrency: sharp.concurrency(), threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' },
  note: 'Shared 2-core machine with other jobs running; figures are perturbed by their load (see loadavg).',
};

// ---- Fashion-MNIST ------------------------------------------------------------------------------
{
  const t0 = performance.now();
  const train = await fashionMnist({ split: 'train' });
  const loadMs = performance.now() - t0;
  const runs = [];
  for (let e = 0; e < EPOCHS; e++) runs.push(await pass(train, { batchSize: 64 }));
  const shuffled = await pass(train, { batchSize: 64, shuffle: true, seed: 1 });
  const rates = runs.map((r) => r.imagesPerSecond);
  const fed = await pass(train, { batchSize: 64, prefetch: 2, limit: 64 * 300 }, 1);
  results.fashionMnist = {
    what: 'train split, 60000 images, batches of 64, (x/255-0.2860)/0.3530 -> float32 [64,1,28,28]',
    loadAndGunzipMs: round(loadMs),
    imagesPerSecondPerEpoch: rates.map((r) => Math.round(r)),
    imagesPerSecondMedian: Math.round(median(rates)),
    imagesPerSecondShuffled: Math.round(shuffled.imagesPerSecond),
    target: 200000,
    meetsTarget: median(rates) >= 200000,
    consumer1msPrefetch2: {
      what: 'consumer awaits 1 ms per batch (300 batches), prefetch 2: batches are ready before they are asked for',
      imagesPerSecond: Math.round(fed.imagesPerSecond),
      wait: waitSummary(fed.waits),
    },
  };
  console.log(`Fashion-MNIST: load+gunzip ${round(loadMs)} ms; ${results.fashionMnist.imagesPerSecondPerEpoch.join(', ')} images/s per epoch (median ${results.fashionMnist.imagesPerSecondMedian}, shuffled ${results.fashionMnist.imagesPerSecondShuffled}); target >= 200000`);
  const w = results.fashionMnist.consumer1msPrefetch2.wait;
  console.log(`  consumer awaits 1 ms/batch, prefetch 2: wait per batch after the first: median ${w.steadyMedianMs} ms, p90 ${w.steadyP90Ms} ms, max ${w.steadyMaxMs} ms; ${w.batchesWaitingOver1ms}/${w.batches - 1} waited > 1 ms`);
}

// ---- Image folder ---------------------------------------------------------------------------------
const root = await mkdtemp(join(tmpdir(), 'trtn-bench-images-'));
try {
  const W = 500;
  const H = 375;
  const t0 = performance.now();
  for (const cls of ['cats', 'dogs']) await mkdir(join(root, cls));
  for (let i = 0; i < IMAGES; i++) {
    // Structured content (gradients, stripes, a box) so JPEG sizes and decode work look like photos, not flat fills.
    const px = Buffer.alloc(W * H * 3);
    const fx = 0.01 + (i % 17) * 0.003;
    const fy = 0.013 + (i % 11) * 0.002;
    const bx = (i * 37) % (W - 120);
    const by = (i * 53) % (H - 90);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 3;
        const inBox = x >= bx && x < bx + 120 && y >= by && y < by + 90;
        px[o] = inBox ? 230 : 128 + 100 * Math.sin(x * fx + i);
        px[o + 1] = 128 + 90 * Math.sin(y * fy) * Math.cos(x * fy * 0.5);
        px[o + 2] = ((x ^ y) + i * 7) & 255;
      }
    }
    const file = join(root, i % 2 ? 'dogs' : 'cats', `${i}.jpg`);
    await writeFile(file, await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
  results.imageFolder = { generated: { images: IMAGES, size: `${W}x${H} JPEG q85`, ms: round(performance.now() - t0) } };
  console.log(`generated ${IMAGES} JPEGs ${W}x${H} in ${round(performance.now() - t0)} ms`);

  const ds = await imageFolder(root, { size: 128 });
  console.log(`imageFolder: ${ds.length} images -> ${ds.itemShape.join('x')} ${ds.dtype}`);
  const options = { batchSize: 32, prefetch: 2 };
  await pass(ds, options); // warm-up (file cache, sharp/libvips init)

  const raw = [];
  for (let e = 0; e < EPOCHS; e++) raw.push(await pass(ds, options));
  const rawRate = median(raw.map((r) => r.imagesPerSecond));
  const producerMsPerBatch = (32 / rawRate) * 1000;
  console.log(`  no consumer work, prefetch 2: ${raw.map((r) => Math.round(r.imagesPerSecond)).join(', ')} images/s (median ${Math.round(rawRate)}); target >= 800`);

  // Baseline: the same sharp call on the same files with nothing else (no batching, no normalisation),
  // 8 at a time; the gap to the loader's figure is the loader's own cost.
  const files = [];
  for (let i = 0; i < IMAGES; i++) files.push(join(root, i % 2 ? 'dogs' : 'cats', `${i}.jpg`));
  const sharpAlone = [];
  for (let e = 0; e < EPOCHS; e++) {
    const t1 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < files.length) {
        const f = files[next++];
        await sharp(f, { failOn: 'error', sequentialRead: true }).resize(128, 128, { fit: 'fill', kernel: 'linear' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
      }
    }));
    sharpAlone.push(files.length / ((performance.now() - t1) / 1000));
  }
  console.log(`  sharp alone (decode + resize, 8 at a time, no loader): ${sharpAlone.map(Math.round).join(', ')} images/s`);

  const concurrencyRuns = {};
  for (const concurrency of [1, 2, 4, 8, 16]) {
    const d = await imageFolder(root, { size: 128, concurrency });
    concurrencyRuns[concurrency] = Math.round((await pass(d, options)).imagesPerSecond);
  }
  console.log(`  files decoded at once -> images/s: ${JSON.stringify(concurrencyRuns)}`);

  const cpuMsPerImage = median(raw.map((r) => r.cpuMsPerItem));
  const consumer1 = await pass(ds, options, 1);
  const consumer1Sync = await pass(ds, options, 1, 'sync');
  const slowMs = Math.ceil(producerMsPerBatch * 2);
  const consumerSlow = await pass(ds, options, slowMs);
  const consumerSlowNoPrefetch = await pass(ds, { batchSize: 32, prefetch: 0 }, slowMs);
  const entry = (what, r, extra = {}) => ({ what, ...extra, imagesPerSecond: Math.round(r.imagesPerSecond), wait: waitSummary(r.waits) });
  results.imageFolder = {
    ...results.imageFolder,
    what: `${IMAGES} JPEG ${W}x${H} -> sharp resize (linear, fill) -> 128x128x3 -> /255 -> float32 NCHW, batches of 32`,
    defaultConcurrency: Math.max(4, 2 * availableParallelism()),
    imagesPerSecondPerEpoch: raw.map((r) => Math.round(r.imagesPerSecond)),
    imagesPerSecondMedian: Math.round(rawRate),
    target: 800,
    meetsTarget: rawRate >= 800,
    cpuMsPerImage: round(cpuMsPerImage, 2),
    imagesPerSecondIf2CoresWereFree: Math.round(2000 / cpuMsPerImage),
    sharpAloneImagesPerSecond: sharpAlone.map(Math.round),
    imagesPerSecondByConcurrency: concurrencyRuns,
    producerMsPerBatch: round(producerMsPerBatch, 2),
    consumer1ms: entry('consumer awaits 1 ms per batch, prefetch 2: decode-bound, so it still waits for each batch; its 1 ms overlaps decoding', consumer1),
    consumer1msSync: entry('consumer busy 1 ms per batch on the main thread, prefetch 2', consumer1Sync),
    consumerSlowerThanProducer: entry(`consumer awaits ${slowMs} ms per batch (2x the producer's time per batch measured above), prefetch 2: not starved after the first batch`, consumerSlow, { consumerMs: slowMs }),
    consumerSlowerThanProducerNoPrefetch: entry(`the same consumer with prefetch 0: every batch is built after it is asked for`, consumerSlowNoPrefetch, { consumerMs: slowMs }),
  };
  const show = (name, r) => console.log(`  ${name}: ${r.imagesPerSecond} images/s; wait per batch after the first: median ${r.wait.steadyMedianMs} ms, p90 ${r.wait.steadyP90Ms} ms, max ${r.wait.steadyMaxMs} ms; ${r.wait.batchesWaitingOver1ms}/${r.wait.batches - 1} waited > 1 ms`);
  console.log(`  CPU per image (all threads): ${round(cpuMsPerImage, 2)} ms -> about ${Math.round(2000 / cpuMsPerImage)} images/s if both cores were free`);
  show('consumer awaits 1 ms/batch, prefetch 2', results.imageFolder.consumer1ms);
  show('consumer busy 1 ms/batch, prefetch 2', results.imageFolder.consumer1msSync);
  show(`consumer awaits ${slowMs} ms/batch, prefetch 2`, results.imageFolder.consumerSlowerThanProducer);
  show(`consumer awaits ${slowMs} ms/batch, prefetch 0`, results.imageFolder.consumerSlowerThanProducerNoPrefetch);
} finally {
  await rm(root, { recursive: true, force: true });
}

results.loadavgAtEnd = loadavg().map((x) => round(x, 2));
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(join(here, 'results', 'data-throughput.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`wrote ${join(here, 'results', 'data-throughput.json')}`);
