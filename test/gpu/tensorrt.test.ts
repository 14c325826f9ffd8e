// Real TensorRT builds on a GPU with the fixture models and Fashion-MNIST. Skipped, with the reason printed,
// where the addon has no TensorRT or there is no usable GPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tensorRtAvailability, recognisesPlan } from '../../lib/backends/tensorrt/index.js';
import { buildEngine, loadEngine } from '../../lib/engine/api.js';
import { TrtnError } from '../../lib/errors.js';
import type { Engine, Feeds } from '../../lib/engine/types.js';

const availability = await tensorRtAvailability();
if (!availability.available) console.log(`[skip] test/gpu/tensorrt.test.ts: ${availability.reason} (fix: ${availability.fix})`);
const manifest = JSON.parse(readFileSync('test/fixtures/models/manifest.json', 'utf8')) as Record<string, { file: string; top1_fp32_onnxruntime: number }>;
const DIR = '/usr/share/datasets/fashion-mnist';
const ITEM = 28 * 28;

function images(file: string, count: number): Float32Array {
  const raw = gunzipSync(readFileSync(join(DIR, file)));
  const out = new Float32Array(count * ITEM);
  for (let i = 0; i < out.length; i++) out[i] = (raw[16 + i]! / 255 - 0.286) / 0.353;
  return out;
}
function labels(file: string, count: number): Uint8Array {
  return gunzipSync(readFileSync(join(DIR, file))).subarray(8, 8 + count);
}
const feedsOf = (data: Float32Array, n: number): Feeds => ({ input: { data, dims: [n, 1, 28, 28], dtype: 'float32' } });

async function* calibration(batches: number, batchSize: number, train: Float32Array) {
  for (let b = 0; b < batches; b++) yield feedsOf(train.slice(b * batchSize * ITEM, (b + 1) * batchSize * ITEM), batchSize);
}

async function top1(engine: Engine, test: Float32Array, truth: Uint8Array): Promise<number> {
  const out = await engine.infer(feedsOf(test, truth.length), { batch: 50 });
  const logits = out.logits!.data as Float32Array;
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
    if (best === truth[i]) correct++;
  }
  return correct / truth.length;
}

describe.skipIf(!availability.available)('TensorRT on a GPU', () => {
  const N = 1000;
  let test: Float32Array, truth: Uint8Array, train: Float32Array, tmp: string;
  const engines: Engine[] = [];
  beforeAll(() => {
    test = images('t10k-images-idx3-ubyte.gz', N);
    truth = labels('t10k-labels-idx1-ubyte.gz', N);
    train = images('train-images-idx3-ubyte.gz', 20 * 32);
    tmp = mkdtempSync(join(tmpdir(), 'trtn-gpu-'));
  });
  afterAll(() => {
    for (const e of engines) e.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const name of ['cnn', 'vgg16', 'mobilenet_v1']) {
    const model = `test/fixtures/models/${manifest[name]!.file}`;
    it(`${name}: fp32, fp16 and int8 stay close to the FP32 reference accuracy`, async () => {
      const fp32 = await buildEngine(model, { precision: 'fp32', backend: 'tensorrt', maxBatch: 64 });
      const fp16 = await buildEngine(model, { precision: 'fp16', backend: 'tensorrt', maxBatch: 64 });
      const cache = join(tmp, `${name}.calib`);
      const int8 = await buildEngine(model, { precision: 'int8', backend: 'tensorrt', maxBatch: 64, calib: { data: calibration(20, 32, train), batchSize: 32, cache } });
      engines.push(fp32, fp16, int8);
      const [a32, a16, a8] = [await top1(fp32, test, truth), await top1(fp16, test, truth), await top1(int8, test, truth)];
      console.log(`${name} top-1 on ${N}: fp32 ${a32} (${fp32.path}), fp16 ${a16} (${fp16.path}), int8 ${a8} (${int8.path})`);
      expect(Math.abs(a32 - manifest[name]!.top1_fp32_onnxruntime)).toBeLessThan(0.03);
      expect(Math.abs(a16 - a32)).toBeLessThan(0.01);
      expect(Math.abs(a8 - a32)).toBeLessThan(0.03);
      expect(int8.precision).toBe('int8');
      // The second INT8 build reuses the calibration cache written by the first, with no data at all.
      const cached = await buildEngine(model, { precision: 'int8', backend: 'tensorrt', maxBatch: 64, calib: { cache } });
      engines.push(cached);
      expect(Math.abs((await top1(cached, test, truth)) - a8)).toBeLessThan(0.01);
    });
  }

  it('saves and loads a plan (auto-detected) with identical outputs', async () => {
    const engine = await buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'fp32', backend: 'tensorrt', maxBatch: 16 });
    engines.push(engine);
    const file = join(tmp, 'cnn.plan');
    await engine.save(file);
    const bytes = new Uint8Array(readFileSync(file));
    console.log(`plan header: ${Buffer.from(bytes.subarray(0, 8)).toString('hex')}`);
    expect(recognisesPlan(bytes)).toBe(true);
    const loaded = await loadEngine(file);
    engines.push(loaded);
    expect(loaded.inputs).toEqual(engine.inputs);
    const feeds = feedsOf(test.slice(0, 8 * ITEM), 8);
    const [a, b] = [await engine.infer(feeds), await loaded.infer(feeds)];
    expect(Array.from(b.logits!.data as Float32Array)).toEqual(Array.from(a.logits!.data as Float32Array));
  });

  it("a truncated or corrupt plan is ERR_ENGINE_LOAD with TensorRT's message", async () => {
    const engine = await buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'fp32', backend: 'tensorrt', maxBatch: 8 });
    const plan = engine.serialize();
    engine.dispose();
    const truncated = join(tmp, 'truncated.plan');
    writeFileSync(truncated, plan.subarray(0, plan.byteLength >> 1));
    const corrupt = new Uint8Array(plan);
    corrupt.fill(0x5a, 0, 64);
    for (const source of [truncated, corrupt]) {
      const err = await loadEngine(source, { backend: 'tensorrt' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrtnError);
      expect((err as TrtnError).code).toBe('ERR_ENGINE_LOAD');
      expect((err as TrtnError).message.length).toBeGreaterThan(40);
    }
  });

  it('benchmarks per batch size with CUDA events and host wall time', async () => {
    const engine = await buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'fp16', backend: 'tensorrt', maxBatch: 64 });
    engines.push(engine);
    const result = await engine.benchmark({ batchSizes: [8, 16, 32, 64], warmup: 5, iterations: 20 });
    expect(result.timer).toBe('cuda-event');
    expect(result.rows.map((r) => r.batchSize)).toEqual([8, 16, 32, 64]);
    for (const row of result.rows) {
      expect(row.latencyMs.min).toBeGreaterThan(0);
      expect(row.latencyMs.min).toBeLessThanOrEqual(row.latencyMs.median);
      expect(row.latencyMs.median).toBeLessThanOrEqual(row.latencyMs.max);
      expect(row.throughput).toBeCloseTo(row.batchSize / (row.latencyMs.median / 1000), 6);
      expect(row.wallMs.median).toBeGreaterThan(0);
    }
    console.table(result.rows.map((r) => ({ batch: r.batchSize, medianMs: r.latencyMs.median, p99: r.latencyMs.p99, imgPerS: Math.round(r.throughput) })));
  });

  it('a throwing calibration loader fails the build with ERR_CALIB_DATA; an abort gives ERR_ABORTED', async () => {
    async function* failing() {
      yield feedsOf(train.slice(0, 32 * ITEM), 32);
      throw new Error('loader broke at batch 1');
    }
    const err = await buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'int8', backend: 'tensorrt', calib: { data: failing(), batchSize: 32 } }).catch((e: unknown) => e);
    expect((err as TrtnError).code).toBe('ERR_CALIB_DATA');
    expect((err as TrtnError).message).toContain('loader broke at batch 1');
    const controller = new AbortController();
    const pending = buildEngine('test/fixtures/models/fmnist_vgg16.onnx', { precision: 'fp16', backend: 'tensorrt', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const aborted = await pending.catch((e: unknown) => e);
    expect((aborted as TrtnError).code).toBe('ERR_ABORTED');
  });

  it('runs concurrent infer calls on one engine and refuses work after dispose', async () => {
    const engine = await buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'fp32', backend: 'tensorrt', maxBatch: 32 });
    const runs = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => engine.infer(feedsOf(test.slice(k * 8 * ITEM, (k + 1) * 8 * ITEM), 8))));
    const whole = await engine.infer(feedsOf(test.slice(0, 48 * ITEM), 48));
    const joined = runs.flatMap((r) => Array.from(r.logits!.data as Float32Array));
    const reference = Array.from(whole.logits!.data as Float32Array);
    joined.forEach((v, i) => expect(v).toBeCloseTo(reference[i]!, 4));
    await engine[Symbol.asyncDispose]();
    const err = await engine.infer(feedsOf(test.slice(0, 8 * ITEM), 8)).catch((e: unknown) => e);
    expect((err as TrtnError).code).toBe('ERR_DISPOSED');
  });
});

it.skipIf(availability.available)('reports why the TensorRT GPU tests were skipped', () => {
  expect(availability.reason).toBeTruthy();
});
