// The cases of test/trt-sim/backend.test.ts that need no simulator internals, on a real GPU with TensorRT: each
// guards one defect of "TensorRT backend, correct by contract" (item numbers in the test names). The simulator
// checks the same contracts on every machine; this file confirms them on the real thing. Skipped, with the reason
// printed, where the addon has no TensorRT or there is no usable GPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensorRtAvailability } from '../../lib/backends/tensorrt/index.js';
import { buildEngine } from '../../lib/engine/api.js';
import type { TrtnError } from '../../lib/errors.js';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';

const availability = await tensorRtAvailability();
if (!availability.available) console.log(`[skip] test/gpu/tensorrt-contract.test.ts: ${availability.reason} (fix: ${availability.fix})`);
const CNN = 'test/fixtures/models/fmnist_cnn.onnx';
const quiet = () => {};

function images(rows: number, seed: number): Float32Array {
  const a = new Float32Array(rows * 784);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}
async function* loader(name: string, batches: number, rows: number, throwAt?: number) {
  for (let i = 0; i < batches; i++) {
    if (throwAt === i) throw new Error(`loader broke at batch ${i}`);
    yield { [name]: { data: images(rows, 100 + i), dims: [rows, 1, 28, 28], dtype: 'float32' as const } };
  }
}
function variant(inputName: string, batch: number): Uint8Array {
  const model = loadModel(CNN);
  const g = model.graph;
  const old = g.inputs[0]!.name;
  g.inputs[0]!.name = inputName;
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === old ? inputName : i));
  for (const v of [g.inputs[0]!, g.outputs[0]!]) v.type!.tensorType!.shape![0] = batch;
  return serializeModel(model);
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe.skipIf(!availability.available)('TensorRT contracts on a GPU', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'trtn-contract-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('A1/A7/A13: concurrent infers equal the same inputs run one at a time, and sequential calls after a burst still work', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, logger: quiet });
    const feeds = (s: number) => ({ input: { data: images(4, s), dims: [4, 1, 28, 28], dtype: 'float32' as const } });
    const alone = [];
    for (let s = 0; s < 8; s++) alone.push((await engine.infer(feeds(s))).logits!.data as Float32Array);
    const together = await Promise.all(Array.from({ length: 8 }, (_, s) => engine.infer(feeds(s))));
    together.forEach((o, s) => expect(maxDiff(o.logits!.data as Float32Array, alone[s]!)).toBeLessThan(1e-4));
    expect(maxDiff((await engine.infer(feeds(3))).logits!.data as Float32Array, alone[3]!)).toBeLessThan(1e-4);
    engine.dispose();
  });

  it('A3/A4: INT8 calibration of a static-batch model whose input is not called `input`', async () => {
    const engine = await buildEngine(variant('images', 1), { precision: 'int8', backend: 'tensorrt', calib: { data: loader('images', 2, 32) }, logger: quiet });
    const out = await engine.infer({ images: { data: images(1, 5), dims: [1, 1, 28, 28], dtype: 'float32' } });
    expect(out.logits!.dims).toEqual([1, 10]);
    engine.dispose();
  });

  it('A3: a wrong first calibration batch fails before the build; A5: a loader that throws fails the build with its error', async () => {
    const wrong = (async function* () {
      yield { input: { data: new Float32Array(100), dims: [1, 100], dtype: 'float32' as const } };
    })();
    expect(((await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', calib: { data: wrong }, logger: quiet }).catch((e) => e)) as TrtnError).code).toBe('ERR_CALIB_DATA');
    const err = (await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { data: loader('input', 6, 32, 2) }, logger: quiet }).catch((e) => e)) as TrtnError;
    expect(err.code).toBe('ERR_CALIB_DATA');
    expect(String((err.cause as Error)?.message)).toMatch(/loader broke at batch 2/);
  });

  it('A9: two builds sharing a timing cache file both succeed and the file stays loadable', async () => {
    const file = join(tmp, 'shared.timing');
    const [a, b] = await Promise.all([
      buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, timingCache: file, logger: quiet }),
      buildEngine(CNN, { precision: 'fp16', backend: 'tensorrt', maxBatch: 8, timingCache: file, logger: quiet }),
    ]);
    a.dispose();
    b.dispose();
    const size = readFileSync(file).length;
    expect(size).toBeGreaterThan(0);
    writeFileSync(join(tmp, 'copy.timing'), readFileSync(file));
    (await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, timingCache: join(tmp, 'copy.timing'), logger: quiet })).dispose();
  });

  it('A10/A11: benchmark per batch size on its own profile; latency = H2D + compute + D2H; throughput from wall time', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp16', backend: 'tensorrt', profileBatchSizes: [1, 8, 64], logger: quiet });
    expect(engine.inputs[0]!.profiles?.length).toBe(3);
    const result = await engine.benchmark({ batchSizes: [1, 8, 64], durationMs: 500 });
    for (const row of result.rows) {
      console.log(`batch ${row.batchSize}: latency ${row.latencyMs.median.toFixed(3)} ms = h2d ${row.h2dMs!.median.toFixed(3)} + compute ${row.gpuMs!.median.toFixed(3)} + d2h ${row.d2hMs!.median.toFixed(3)}; ${row.throughput.toFixed(0)} img/s`);
      expect(row.latencyMs.median).toBeGreaterThanOrEqual(row.gpuMs!.median);
      expect(row.throughput).toBeGreaterThan(0);
    }
    engine.dispose();
  });

  it('A12: the pool reports the device memory of every context it holds', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, logger: quiet });
    await Promise.all(Array.from({ length: 4 }, (_, s) => engine.infer({ input: { data: images(8, s), dims: [8, 1, 28, 28], dtype: 'float32' } })));
    const e = engine as unknown as { deviceMemoryBytes: number; contextMemoryBytes: number };
    expect(e.deviceMemoryBytes % Math.max(1, e.contextMemoryBytes)).toBe(0);
    expect(e.deviceMemoryBytes).toBeGreaterThanOrEqual(e.contextMemoryBytes);
    engine.dispose();
  });
});

it.skipIf(availability.available)('reports why the TensorRT contract tests were skipped', () => {
  expect(availability.reason).toBeTruthy();
});
