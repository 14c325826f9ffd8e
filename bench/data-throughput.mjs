// Data-loading throughput: Fashion-MNIST batches and image folders of JPEGs (the addon's libjpeg and sharp).
// Build first: npm run build (the addon, with libjpeg where found, and dist/). Run: flock /tmp/trtn-bench.lock node bench/data-throughput.mjs [--images 400] [--epochs 5]
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createRandom, fashionMnist, imageFolder, transforms } from '../dist/data/index.js';
import { defaultConcurrency } from '../dist/data/image-folder.js';
import { axisFilter } from '../dist/data/jpeg-shrink.js';
import { summarize } from '../dist/engine/stats.js';
import { nativeJpegDecoder, nativeJpegVersion } from '../dist/native/jpeg.js';
import { arg } from './args.mjs';

const numberArg = (name, fallback) => Number(arg(name, fallback));
const IMAGES = numberArg('images', 400);
const EPOCHS = numberArg('epochs', 5);
const here = dirname(fileURLToPath(import.meta.url));

const median = (xs) => summarize(xs).median; // the project's one definition (lib/engine/stats.ts)
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
  note: 'Shared 2-core machine; figures are perturbed by other jobs when loadavg is above ~1.5.',
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
// Two sets of 500x375 q85 JPEGs: the original synthetic one (stripes, a box, an XOR pattern in blue) and a
// photo-like one (1/f fractal texture and hard-edged discs, 20-40 KB like photos of that size). Each is read with
// jpegDecode 'fast' (the default: libjpeg-turbo in the addon at a DCT scale) and 'sharp' (sharp alone).
const W = 500;
const H = 375;
const OUT = 128;

function xorPattern(i) {
  // Structured content (gradients, stripes, a box) with an XOR pattern in blue.
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
  return px;
}

/** Fractal value noise (cells of 128 px down to 2 px, amplitude falling with the cell: a 1/f spectrum, as photos have). */
function addNoise(random, out, amp) {
  for (let cell = 128; cell >= 2; cell /= 2) {
    const gw = Math.ceil(W / cell) + 2;
    const grid = Float32Array.from({ length: gw * (Math.ceil(H / cell) + 2) }, () => random() * 2 - 1);
    const a = amp * (cell / 128) ** 0.8 * (cell <= 4 ? 2 : 1);
    for (let y = 0; y < H; y++) {
      const y0 = Math.floor(y / cell);
      let ty = y / cell - y0;
      ty = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < W; x++) {
        const x0 = Math.floor(x / cell);
        let tx = x / cell - x0;
        tx = tx * tx * (3 - 2 * tx);
        const g = y0 * gw + x0;
        const top = grid[g] + (grid[g + 1] - grid[g]) * tx;
        const bottom = grid[g + gw] + (grid[g + gw + 1] - grid[g + gw]) * tx;
        out[y * W + x] += a * (top + (bottom - top) * ty);
      }
    }
  }
}

function photoLike(i) {
  const random = createRandom(1000 + i);
  const lum = new Float32Array(W * H);
  const c1 = new Float32Array(W * H);
  const c2 = new Float32Array(W * H);
  addNoise(random, lum, 70);
  addNoise(random, c1, 25);
  addNoise(random, c2, 25);
  const base = [90 + random() * 80, 80 + random() * 80, 70 + random() * 80];
  const discs = Array.from({ length: 2 + Math.floor(random() * 4) }, () => ({
    cx: random() * W, cy: random() * H, rx: 30 + random() * 120, ry: 30 + random() * 100, d: [random() * 120 - 60, random() * 120 - 60, random() * 120 - 60],
  }));
  const px = Buffer.alloc(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    const x = p % W;
    const y = (p - x) / W;
    for (const s of discs) {
      if (((x - s.cx) / s.rx) ** 2 + ((y - s.cy) / s.ry) ** 2 < 1) {
        lum[p] += s.d[0];
        c1[p] += s.d[1];
        c2[p] += s.d[2];
      }
    }
    px[3 * p] = Math.max(0, Math.min(255, base[0] + lum[p] + c1[p]));
    px[3 * p + 1] = Math.max(0, Math.min(255, base[1] + lum[p] - 0.5 * c1[p] - 0.5 * c2[p]));
    px[3 * p + 2] = Math.max(0, Math.min(255, base[2] + lum[p] + c2[p]));
  }
  return px;
}

/** Independent reference for accuracy: the triangle (antialiased bilinear) filter in float64, HWC, separable. */
function triangleResize(src, width, height, outWidth, outHeight) {
  const taps = (inSize, outSize) => Array.from({ length: outSize }, (_, o) => {
    const scale = inSize / outSize;
    const support = Math.max(1, scale);
    const centre = (o + 0.5) * scale;
    const list = [];
    for (let i = Math.max(0, Math.floor(centre - support)); i < Math.min(inSize, Math.ceil(centre + support)); i++) {
      const w = 1 - Math.abs((i + 0.5 - centre) / support);
      if (w > 0) list.push([i, w]);
    }
    const sum = list.reduce((a, [, w]) => a + w, 0);
    return list.map(([i, w]) => [i, w / sum]);
  });
  const xs = taps(width, outWidth);
  const ys = taps(height, outHeight);
  const rows = new Float64Array(height * outWidth * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < outWidth; x++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (const [i, w] of xs[x]) s += w * src[(y * width + i) * 3 + c];
    rows[(y * outWidth + x) * 3 + c] = s;
  }
  const out = new Float64Array(outHeight * outWidth * 3);
  for (let y = 0; y < outHeight; y++) for (let x = 0; x < outWidth; x++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (const [i, w] of ys[y]) s += w * rows[(i * outWidth + x) * 3 + c];
    out[(y * outWidth + x) * 3 + c] = s;
  }
  return out;
}

const meanAbs = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

const ACCURACY_IMAGES = 40;

async function imageSet(name, what, makePixels) {
  const root = await mkdtemp(join(tmpdir(), `trtn-bench-${name}-`));
  try {
    const t0 = performance.now();
    for (const cls of ['cats', 'dogs']) await mkdir(join(root, cls));
    const files = [];
    const sources = [];
    let bytes = 0;
    for (let i = 0; i < IMAGES; i++) {
      const px = makePixels(i);
      if (i < ACCURACY_IMAGES) sources.push(px);
      const jpeg = await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
      bytes += jpeg.length;
      const file = join(root, i % 2 ? 'dogs' : 'cats', `${String(i).padStart(4, '0')}.jpg`);
      await writeFile(file, jpeg);
      files.push(file);
    }
    const out = { what, generated: { images: IMAGES, size: `${W}x${H} JPEG q85`, meanKB: round(bytes / IMAGES / 1024), ms: round(performance.now() - t0) } };
    console.log(`\n${name}: ${IMAGES} JPEGs ${W}x${H}, mean ${out.generated.meanKB} KB (${what})`);

    const options = { batchSize: 32, prefetch: 2 };
    const entry = (label, r, extra = {}) => ({ what: label, ...extra, imagesPerSecond: Math.round(r.imagesPerSecond), wait: waitSummary(r.waits) });
    const show = (label, r) => console.log(`  ${label}: ${r.imagesPerSecond} images/s; wait per batch after the first: median ${r.wait.steadyMedianMs} ms, p90 ${r.wait.steadyP90Ms} ms, max ${r.wait.steadyMaxMs} ms; ${r.wait.batchesWaitingOver1ms}/${r.wait.batches - 1} waited > 1 ms`);
    for (const jpegDecode of ['fast', 'sharp']) {
      const ds = await imageFolder(root, { size: OUT, jpegDecode });
      await pass(ds, options); // warm-up (file cache, decoder init)
      const runs = [];
      for (let e = 0; e < EPOCHS; e++) runs.push(await pass(ds, options));
      const rate = median(runs.map((r) => r.imagesPerSecond));
      const cpuMs = median(runs.map((r) => r.cpuMsPerItem));
      const producerMsPerBatch = (32 / rate) * 1000;
      const row = {
        imagesPerSecondPerEpoch: runs.map((r) => Math.round(r.imagesPerSecond)),
        imagesPerSecondMedian: Math.round(rate),
        target: 800,
        meetsTarget: rate >= 800,
        cpuMsPerImage: round(cpuMs, 2),
        imagesPerSecondIf2CoresWereFree: Math.round(2000 / cpuMs),
        producerMsPerBatch: round(producerMsPerBatch, 2),
      };
      console.log(`  jpegDecode '${jpegDecode}', no consumer work, prefetch 2: ${row.imagesPerSecondPerEpoch.join(', ')} images/s (median ${row.imagesPerSecondMedian}; target >= 800); CPU ${row.cpuMsPerImage} ms per image (all threads)`);
      if (jpegDecode === 'fast') {
        const byConcurrency = {};
        for (const concurrency of [2, 4, 8, 16, 32]) byConcurrency[concurrency] = Math.round((await pass(await imageFolder(root, { size: OUT, concurrency }), options)).imagesPerSecond);
        row.imagesPerSecondByConcurrency = byConcurrency;
        console.log(`  files decoded at once -> images/s: ${JSON.stringify(byConcurrency)} (default ${defaultConcurrency(nativeJpegDecoder() !== null)})`);
        const slowMs = Math.ceil(producerMsPerBatch * 2);
        row.consumer1ms = entry('consumer awaits 1 ms per batch of 32, prefetch 2: producing a batch takes longer than 1 ms, so the consumer waits for each; its 1 ms overlaps decoding (throughput as without it)', await pass(ds, options, 1));
        row.consumer1msSync = entry('consumer busy 1 ms per batch of 32 on the main thread, prefetch 2', await pass(ds, options, 1, 'sync'));
        row.consumer1msBatch1 = entry('batches of 1, consumer awaits 1 ms per batch, prefetch 4: the producer makes a batch in under 1 ms, so the consumer is fed', await pass(ds, { batchSize: 1, prefetch: 4 }, 1), { batchSize: 1 });
        row.consumerSlowerThanProducer = entry(`consumer awaits ${slowMs} ms per batch (2x the producer's time per batch), prefetch 2: not starved after the first batch`, await pass(ds, options, slowMs), { consumerMs: slowMs });
        row.consumerSlowerThanProducerNoPrefetch = entry('the same consumer with prefetch 0: every batch is built after it is asked for', await pass(ds, { batchSize: 32, prefetch: 0 }, slowMs), { consumerMs: slowMs });
        show('consumer awaits 1 ms/batch of 32, prefetch 2', row.consumer1ms);
        show('consumer busy 1 ms/batch of 32, prefetch 2', row.consumer1msSync);
        show('batches of 1, consumer awaits 1 ms/batch, prefetch 4', row.consumer1msBatch1);
        show(`consumer awaits ${slowMs} ms/batch, prefetch 2`, row.consumerSlowerThanProducer);
        show(`consumer awaits ${slowMs} ms/batch, prefetch 0`, row.consumerSlowerThanProducerNoPrefetch);
      }
      out[jpegDecode] = row;
    }

    // Baselines without the loader: the decoders alone on the same files, 8 at a time.
    const alone = async (fn) => {
      const rates = [];
      for (let e = 0; e < EPOCHS; e++) {
        const t1 = performance.now();
        let next = 0;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < files.length) await fn(files[next++]);
        }));
        rates.push(Math.round(files.length / ((performance.now() - t1) / 1000)));
      }
      return rates;
    };
    out.sharpAloneImagesPerSecond = await alone((f) => sharp(f, { failOn: 'error', sequentialRead: true }).resize(OUT, OUT, { fit: 'fill', kernel: 'linear' }).removeAlpha().toColourspace('srgb').raw().toBuffer());
    console.log(`  sharp alone (read + decode + resize, 8 at a time, no loader): ${out.sharpAloneImagesPerSecond.join(', ')} images/s`);
    const decodeJpeg = nativeJpegDecoder();
    if (decodeJpeg) {
      const x = axisFilter(250, OUT);
      const y = axisFilter(188, OUT);
      out.libjpegAloneImagesPerSecond = await alone(async (f) => decodeJpeg(await readFile(f), 2, { x, y }));
      console.log(`  addon's libjpeg alone (read + 1/2-scale decode + resize, 8 at a time, no loader): ${out.libjpegAloneImagesPerSecond.join(', ')} images/s`);
    }

    // Accuracy: pixels of both decodes against a float reference computed here from sharp's full decode.
    const grab = async (jpegDecode) => {
      const ds = await imageFolder(root, { size: OUT, jpegDecode, transforms: [transforms.layout('NHWC'), transforms.dtype('uint8')] });
      const [batch] = await collectBatches(ds.select(accuracyPositions(files)).batches({ batchSize: ACCURACY_IMAGES }));
      return batch.feeds.input.data;
    };
    const fast = await grab('fast');
    const full = await grab('sharp');
    const item = OUT * OUT * 3;
    const mad = { fastVsSharp: 0, fastVsReference: 0, sharpVsReference: 0, jpegVsSource: 0 };
    let maxFastVsSharp = 0;
    for (let i = 0; i < ACCURACY_IMAGES; i++) {
      const decoded = await sharp(files[i]).raw().toBuffer();
      const reference = triangleResize(decoded, W, H, OUT, OUT);
      const source = triangleResize(sources[i], W, H, OUT, OUT);
      const f = fast.subarray(i * item, (i + 1) * item);
      const s = full.subarray(i * item, (i + 1) * item);
      mad.fastVsSharp += meanAbs(f, s) / ACCURACY_IMAGES;
      mad.fastVsReference += meanAbs(f, reference) / ACCURACY_IMAGES;
      mad.sharpVsReference += meanAbs(s, reference) / ACCURACY_IMAGES;
      mad.jpegVsSource += meanAbs(reference, source) / ACCURACY_IMAGES;
      for (let k = 0; k < item; k++) maxFastVsSharp = Math.max(maxFastVsSharp, Math.abs(f[k] - s[k]));
    }
    out.accuracy = {
      what: `mean absolute difference in levels of 255 over ${ACCURACY_IMAGES} images at ${OUT}x${OUT}x3; reference = triangle filter in float from sharp's full decode (what 'linear' means); jpegVsSource = what q85 compression itself changes at this size`,
      ...Object.fromEntries(Object.entries(mad).map(([k, v]) => [k, round(v, 3)])),
      maxFastVsSharp,
    };
    console.log(`  accuracy (mean |difference|, levels of 255): fast vs sharp ${out.accuracy.fastVsSharp} (max ${maxFastVsSharp}); vs float reference: fast ${out.accuracy.fastVsReference}, sharp ${out.accuracy.sharpVsReference}; q85 compression itself: ${out.accuracy.jpegVsSource}`);
    return out;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Positions in the dataset (classes sorted, then names) of the first ACCURACY_IMAGES generated files. */
function accuracyPositions(files) {
  const listed = [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return files.slice(0, ACCURACY_IMAGES).map((f) => listed.indexOf(f));
}

async function collectBatches(iterable) {
  const out = [];
  for await (const b of iterable) out.push(b);
  return out;
}

console.log(`\nimageFolder JPEG decoder for jpegDecode 'fast': ${nativeJpegVersion() ?? "none in the addon: sharp, at 1/2 scale for 2x-3x reductions"}`);
results.imageFolder = {
  what: `JPEG ${W}x${H} -> ${OUT}x${OUT}x3 (fit fill, kernel linear) -> /255 -> float32 NCHW, batches of 32; jpegDecode 'fast' (default) and 'sharp'`,
  libjpeg: nativeJpegVersion(),
  defaultConcurrency: { fast: defaultConcurrency(nativeJpegDecoder() !== null), sharp: defaultConcurrency(false) },
  xorPattern: await imageSet('xorPattern', 'the original synthetic set: sine stripes, a box and an XOR pattern in blue; smaller files than photos (chroma subsampling halves the XOR detail)', xorPattern),
  photoLike: await imageSet('photoLike', 'photo-like: 1/f fractal texture in luminance and colour, 2-5 hard-edged discs', photoLike),
};

results.loadavgAtEnd = loadavg().map((x) => round(x, 2));
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(join(here, 'results', 'data-throughput.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`wrote ${join(here, 'results', 'data-throughput.json')}`);
