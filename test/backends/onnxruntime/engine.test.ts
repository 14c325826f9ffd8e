import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelSessionOptions, onnxruntimeBackend } from '../../../lib/backends/onnxruntime/index.js';
import { ORT_DISABLED_OPTIMIZERS_KEY } from '../../../lib/onnx/qdq.js';
import { buildEngine, loadEngine } from '../../../lib/engine/api.js';
import type { Engine, Feeds } from '../../../lib/engine/types.js';
import { fashionMnist } from '../../../lib/data/index.js';
import { makeNode } from '../../../lib/onnx/graph.js';
import { serializeModel } from '../../../lib/onnx/io.js';
import { DataType } from '../../../lib/onnx/model.js';
import { model } from '../../quant/helpers.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';
let feeds: Feeds;
let engine: Engine;

beforeAll(async () => {
  const test = await fashionMnist({ split: 'test' });
  for await (const b of test.batches({ batchSize: 64 })) {
    feeds = b.feeds;
    break;
  }
  engine = await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } });
});
afterAll(() => engine?.dispose());

describe('onnxruntime backend', () => {
  it('infers like onnxruntime-node called directly, in a worker', async () => {
    expect(engine.path).toBe('onnx-fp32 (model as is)');
    expect(engine.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [expect.anything(), 1, 28, 28] }]);
    const out = await engine.infer(feeds);
    const direct = await ort.InferenceSession.create(CNN, { intraOpNumThreads: 1 });
    const expected = (await direct.run({ input: new ort.Tensor('float32', feeds.input!.data as Float32Array, [64, 1, 28, 28]) })).logits!;
    expect(out.logits!.dims).toEqual([64, 10]);
    const got = out.logits!.data as Float32Array;
    const want = expected.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
    // split into batches of 16: same rows
    const split = await engine.infer(feeds, { batch: 16 });
    expect(Array.from(split.logits!.data as Float32Array)).toEqual(Array.from(got));
  });

  it('keeps the event loop free while the worker computes', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // Long enough (100+ ms) that a loaded machine still gives the timer many turns; a blocked main thread gives it one.
    const result = await engine.benchmark({ batchSizes: [64], warmup: 2, iterations: 150 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
    const row = result.rows[0]!;
    expect(result).toMatchObject({ backend: 'onnxruntime', timer: 'host', transfers: false });
    expect(row.iterations).toBe(150);
    expect(row.latencyMs).toEqual(row.wallMs);
    expect(row.throughput).toBeCloseTo((64 * 1000) / row.latencyMs.median, 9);
    expect(row.latencyMs.min).toBeLessThanOrEqual(row.latencyMs.median);
  });

  it('rejects bad feeds with ERR_SHAPE / ERR_DTYPE naming the tensor', async () => {
    const x = feeds.input!;
    await expect(engine.infer({})).rejects.toMatchObject({ code: 'ERR_SHAPE', details: { tensor: 'input' } });
    await expect(engine.infer({ input: { data: new Int32Array(x.data.length), dims: x.dims, dtype: 'int32' } })).rejects.toMatchObject({ code: 'ERR_DTYPE', details: { tensor: 'input' } });
    await expect(engine.infer({ input: { data: new Float32Array(64 * 27 * 28), dims: [64, 1, 27, 28], dtype: 'float32' } })).rejects.toMatchObject({
      code: 'ERR_SHAPE',
      message: expect.stringMatching(/'input' has dims \[64, 1, 27, 28\]/),
    });
    await expect(engine.infer({ ...feeds, extra: x })).rejects.toMatchObject({ code: 'ERR_SHAPE', details: { tensor: 'extra' } });
  });

  it('serializes the ONNX that runs; loadEngine of bytes and of a path works; recognises ONNX only', async () => {
    const bytes = engine.serialize();
    expect(bytes).toEqual(new Uint8Array(readFileSync(CNN)));
    expect(onnxruntimeBackend.recognises(bytes)).toBe(true);
    expect(onnxruntimeBackend.recognises(new Uint8Array([1, 2, 3, 4, 5]))).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'ortb-'));
    await engine.save(join(dir, 'm.onnx'));
    await using loaded = await loadEngine(join(dir, 'm.onnx'), { backend: 'onnxruntime' });
    expect(loaded.path).toBe('onnx-fp32 (loaded)');
    expect(Array.from((await loaded.infer(feeds)).logits!.data as Float32Array)).toEqual(Array.from((await engine.infer(feeds)).logits!.data as Float32Array));
  });

  it('rejects malformed and truncated ONNX with a typed error', async () => {
    const good = readFileSync(CNN);
    await expect(buildEngine(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), { precision: 'fp32', backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_ONNX_LOAD' });
    await expect(buildEngine(new Uint8Array(good.subarray(0, good.length / 2)), { precision: 'fp32', backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_ONNX_LOAD' });
    await expect(loadEngine(new Uint8Array([9, 9, 9]), { backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_ENGINE_LOAD' });
    await expect(buildEngine('/nonexistent/model.onnx', { precision: 'fp32', backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_IO' });
  });

  it('a model with no float input cannot be built at int8 or fp16: ERR_ONNX_MODEL', async () => {
    const intModel = model([makeNode('Cast', ['ids'], ['y'], { attributes: { to: DataType.FLOAT } })], [], { name: 'ids', dims: [1, 4], elemType: DataType.INT64 }, [{ name: 'y', dims: [1, 4] }]);
    const bytes = serializeModel(intModel);
    await expect(buildEngine(bytes, { precision: 'int8', backend: 'onnxruntime', calib: { cache: new Uint8Array([1]) } })).rejects.toMatchObject({ code: 'ERR_ONNX_MODEL' });
    await expect(buildEngine(bytes, { precision: 'fp16', backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_ONNX_MODEL' });
    await using e = await buildEngine(bytes, { precision: 'fp32', backend: 'onnxruntime' });
    const out = await e.infer({ ids: { data: new BigInt64Array([1n, 2n, 3n, 4n]), dims: [1, 4], dtype: 'int64' } });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('takes from a model file only the graph optimizers its metadata asks to turn off', () => {
    const m = model([makeNode('Relu', ['x'], ['y'])], [], { name: 'x', dims: [1, 4] }, [{ name: 'y', dims: [1, 4] }]);
    expect(modelSessionOptions(m, { intraOpThreads: 2 })).toEqual({ intraOpThreads: 2 });
    const tagged = { ...m, metadataProps: [{ key: ORT_DISABLED_OPTIMIZERS_KEY, value: 'QDQPropagationTransformer;not a name;NchwcTransformer' }] };
    expect(modelSessionOptions(tagged, { intraOpThreads: 2, disabledOptimizers: ['NchwcTransformer'] })).toEqual({
      intraOpThreads: 2,
      disabledOptimizers: ['NchwcTransformer', 'QDQPropagationTransformer'],
    });
  });

  it('int8 from calibration data, then from the cache it wrote; fp16; best without calib is fp32', async () => {
    const train = await fashionMnist({ split: 'train' });
    const dir = mkdtempSync(join(tmpdir(), 'ortb-'));
    const cache = join(dir, 'cnn.cache');
    // int8Placement 'rules': no timing, so both builds place Q/DQ alike
    await using e8 = await buildEngine(CNN, { precision: 'int8', backend: 'onnxruntime', int8Placement: 'rules', calib: { data: train, batchSize: 64, maxBatches: 2, algorithm: 'minmax', cache } });
    expect(e8.path).toBe('qdq-int8 (minmax, 128 images; cross-layer equalization (3 pairs))'); // with a cache: data-free rewrites only
    await using fromCache = await buildEngine(CNN, { precision: 'best', backend: 'onnxruntime', int8Placement: 'rules', calib: { cache } });
    expect(fromCache.precision).toBe('best');
    expect(fromCache.path).toBe('qdq-int8 (scales from calibration cache MinMaxCalibration; cross-layer equalization (3 pairs))');
    const a = (await e8.infer(feeds)).logits!.data as Float32Array;
    const b = (await fromCache.infer(feeds)).logits!.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    const ref = (await engine.infer(feeds)).logits!.data as Float32Array;
    let agree = 0;
    for (let r = 0; r < 64; r++) {
      const arg = (l: Float32Array) => l.subarray(r * 10, r * 10 + 10).reduce((best, v, i, arr) => (v > arr[best]! ? i : best), 0);
      if (arg(a) === arg(ref)) agree++;
    }
    expect(agree).toBeGreaterThanOrEqual(60);
    await using reloaded = await loadEngine(e8.serialize());
    expect(reloaded.precision).toBe('int8');
    await using e16 = await buildEngine(CNN, { precision: 'fp16', backend: 'onnxruntime' });
    expect(e16.path).toMatch(/^fp16-converted-onnx/);
    const h = (await e16.infer(feeds)).logits!.data as Float32Array;
    for (let i = 0; i < h.length; i++) expect(Math.abs(h[i]! - ref[i]!)).toBeLessThan(0.05);
    await using best = await buildEngine(CNN, { precision: 'best', backend: 'onnxruntime' });
    expect(best.path).toBe('onnx-fp32 (model as is)');
  });

  it("int8Placement 'auto' (the default) times the placement during the build and says so in the path (no timing asserted)", async () => {
    const train = await fashionMnist({ split: 'train' });
    await using e = await buildEngine(CNN, { precision: 'int8', backend: 'onnxruntime', calib: { data: train, batchSize: 16, maxBatches: 2, algorithm: 'minmax' }, session: { intraOpThreads: 1 } });
    // int8 with the methods applied, or labelled fp32 when every region timed faster in float
    expect(e.path).toMatch(/^(qdq-int8 \(minmax, 32 images; cross-layer equalization \(3 pairs\), smoothing of 2 Gemm\/MatMul inputs \(alpha 0\.5\), bias correction \([1-3] layers?\)\) \[auto placement: [0-2] of 3 regions float\]|fp32 \(int8 requested, no layer kept on int8: .+\))$/);
    expect((await e.infer(feeds)).logits!.dims).toEqual([64, 10]);
    await expect(buildEngine(CNN, { precision: 'int8', backend: 'onnxruntime', int8Placement: 'fastest' as never, calib: { data: train } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  it('a disposed engine is ERR_DISPOSED; dispose waits for the call in flight', async () => {
    const e = await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime' });
    const pending = e.infer(feeds);
    e.dispose();
    expect(e.disposed).toBe(true);
    expect((await pending).logits!.dims).toEqual([64, 10]);
    await expect(e.infer(feeds)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    expect(() => e.serialize()).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    e[Symbol.dispose]();
  });

  it('runs from the compiled dist/ too (the worker source travels as text)', () => {
    const root = process.cwd();
    const out = join(root, 'build', 'quant-dist');
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: root });
    const script = join(out, 'smoke.mjs');
    writeFileSync(
      script,
      `import { onnxruntimeBackend } from './backends/onnxruntime/index.js';
       const e = await onnxruntimeBackend.buildEngine(${JSON.stringify(join(root, CNN))}, { precision: 'fp32' });
       const r = await e.infer({ input: { data: new Float32Array(784 * 2), dims: [2, 1, 28, 28], dtype: 'float32' } });
       console.log(JSON.stringify(r.logits.dims));
       await e[Symbol.asyncDispose]();`,
    );
    const run = spawnSync(process.execPath, [script], { cwd: tmpdir(), encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('[2,10]');
    expect(run.status).toBe(0);
  });
});
