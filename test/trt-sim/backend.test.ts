// The whole TensorRT path (buildEngine / loadEngine / infer / benchmark / save, the calibrator bridge, progress,
// abort, the timing cache and the context pool) against the simulator, once per personality: 8.6, 10.0, 10.16, 11.1.
// Every test ends with the simulator's list of broken contracts, which must be empty.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CNN, PERSONALITIES, cnnVariant, expectClose, expectNoViolations, images, loader, reference, sim, type Personality } from './simulator.js';
import { buildEngine, loadEngine, quantizeModel, serializeModel, writeCalibrationCache, TrtnError, type Engine } from '../../lib/index.js';

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: unknown) => (e as TrtnError).code);
const run = (engine: Engine, rows: number, seed: number, name = 'input') =>
  engine.infer({ [name]: { data: images(rows, seed), dims: [rows, 1, 28, 28], dtype: 'float32' } });
const quiet = () => {};

describe.each(PERSONALITIES)('TensorRT %s (simulated)', (version: Personality) => {
  const implicit = version !== '11.1';
  const progressMonitor = version !== '8.6';
  let dir: string;
  beforeAll(() => {
    sim().trtSimConfigure({ version, streamDelayMs: 1 });
    dir = mkdtempSync(join(tmpdir(), `trtn-sim-${version}-`));
  });
  afterEach(expectNoViolations);

  it('builds fp32, infers the exact values, and reports what it built', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 16, logger: quiet });
    expect(engine.backend).toBe('tensorrt');
    expect(engine.path).toBe('fp32 (TF32 disabled)');
    expect(engine.inputs[0]).toMatchObject({ name: 'input', dtype: 'float32', profile: { min: [1, 1, 28, 28], max: [16, 1, 28, 28] } });
    const out = await run(engine, 5, 1);
    expect(out.logits!.dims).toEqual([5, 10]);
    expectClose(out.logits!.data as Float32Array, reference([images(5, 1)], 5, 0, 10), 'logits');
    engine.dispose();
  });

  it('concurrent infers on the context pool return each caller its own answer (profile per context, no cross-talk)', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, logger: quiet });
    const seeds = Array.from({ length: 12 }, (_, i) => i + 10);
    const outs = await Promise.all(seeds.map((s) => run(engine, 3, s)));
    outs.forEach((o, i) => expectClose(o.logits!.data as Float32Array, reference([images(3, seeds[i]!)], 3, 0, 10), `call ${i}`));
    expect(sim().trtSimStats().liveContexts).toBeGreaterThan(1);
    // Sequential calls after the burst reuse the pooled contexts (each still on its profile).
    expectClose((await run(engine, 2, 99)).logits!.data as Float32Array, reference([images(2, 99)], 2, 0, 10), 'after the burst');
    engine.dispose();
  });

  it('bad feeds get the same code and words as on ONNX Runtime (one validation for every backend), naming the tensor', async () => {
    const trt = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    const ort = await buildEngine(CNN, { precision: 'fp32', backend: 'onnxruntime' });
    const good = { data: images(2, 1), dims: [2, 1, 28, 28], dtype: 'float32' as const };
    const bad = [
      {},
      { input: { ...good, dtype: 'int32' as const } },
      { input: { ...good, data: new Float64Array(2 * 784) } },
      { input: { ...good, dims: [2, 1, 28, 27] } },
      { input: { ...good, dims: [3, 1, 28, 28] } },
      { input: good, extra: good },
    ];
    for (const feeds of bad) {
      const [a, b] = await Promise.all([trt, ort].map((e) => e.infer(feeds as never).then(() => undefined, (err: TrtnError) => err)));
      expect(a).toBeInstanceOf(TrtnError);
      // Word for word, but for how the shape names its dynamic batch (the ONNX dim_param 'batch'; TensorRT's -1).
      const words = (e: TrtnError) => ({ code: e.code, message: e.message.replace(/\[(batch|-1),/, '[N,') });
      expect(words(a!)).toEqual(words(b!));
      expect(a!.message).toMatch(/'(input|extra)'/);
    }
    trt.dispose();
    ort.dispose();
  });

  it('takes the network\'s own input name and a fixed batch as the model has them', async () => {
    const engine = await buildEngine(cnnVariant({ inputName: 'x', batch: 2 }), { precision: 'fp32', backend: 'tensorrt', logger: quiet });
    expect(engine.inputs[0]!.shape).toEqual([2, 1, 28, 28]);
    expectClose((await run(engine, 2, 5, 'x')).logits!.data as Float32Array, reference([images(2, 5)], 2, 0, 10), 'x');
    engine.dispose();
  });

  it('save + loadEngine round-trips the plan; corrupt and truncated plans are ERR_ENGINE_LOAD naming the file', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    const file = join(dir, 'cnn.plan');
    await engine.save(file);
    engine.dispose();
    const loaded = await loadEngine(file, { backend: 'tensorrt', logger: quiet });
    expectClose((await run(loaded, 4, 7)).logits!.data as Float32Array, reference([images(4, 7)], 4, 0, 10), 'loaded');
    loaded.dispose();
    const bytes = readFileSync(file);
    const truncated = join(dir, 'truncated.plan');
    writeFileSync(truncated, bytes.subarray(0, 40));
    const err = await loadEngine(truncated, { backend: 'tensorrt', logger: quiet }).catch((e: TrtnError) => e);
    expect((err as TrtnError).code).toBe('ERR_ENGINE_LOAD');
    expect((err as TrtnError).details.file).toBe(truncated);
    sim().trtSimConfigure({ faults: { deserialize: true } });
    expect(await codeOf(loadEngine(bytes, { backend: 'tensorrt', logger: quiet }))).toBe('ERR_ENGINE_LOAD');
  });

  it('a plan from another TensorRT version is refused with ERR_ENGINE_LOAD', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    const plan = engine.serialize();
    engine.dispose();
    const other = version === '11.1' ? '10.16' : '11.1';
    sim().trtSimConfigure({ version: other });
    try {
      expect(await codeOf(loadEngine(plan, { backend: 'tensorrt', logger: quiet }))).toBe('ERR_ENGINE_LOAD');
    } finally {
      sim().trtSimConfigure({ version });
    }
  });

  it('parse failures are ERR_ONNX_PARSE; a failed build is ERR_BUILD with TensorRT\'s reason', async () => {
    sim().trtSimConfigure({ faults: { parse: true } });
    const parse = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', logger: quiet }).catch((e: TrtnError) => e);
    expect((parse as TrtnError).code).toBe('ERR_ONNX_PARSE');
    expect((parse as TrtnError).details.file).toBe(CNN);
    sim().trtSimConfigure({ faults: { build: true } });
    const build = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', logger: quiet }).catch((e: TrtnError) => e);
    expect((build as TrtnError).code).toBe('ERR_BUILD');
    expect((build as TrtnError).message).toMatch(/simulated/);
  });

  it('no builder or no runtime is ERR_NO_TENSORRT', async () => {
    sim().trtSimConfigure({ faults: { noBuilder: true } });
    expect(await codeOf(buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', logger: quiet }))).toBe('ERR_NO_TENSORRT');
    sim().trtSimReset();
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 2, logger: quiet });
    const plan = engine.serialize();
    engine.dispose();
    sim().trtSimConfigure({ faults: { noRuntime: true } });
    expect(await codeOf(loadEngine(plan, { backend: 'tensorrt', logger: quiet }))).toBe('ERR_NO_TENSORRT');
  });

  it('a failed enqueue is ERR_INFERENCE and its context is not pooled again; out of memory at the first context is ERR_TENSORRT', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    sim().trtSimConfigure({ faults: { enqueueFalse: 1 } });
    expect(await codeOf(run(engine, 2, 1))).toBe('ERR_INFERENCE');
    expectClose((await run(engine, 2, 2)).logits!.data as Float32Array, reference([images(2, 2)], 2, 0, 10), 'after a failed enqueue');
    engine.dispose();
    const fresh = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    sim().trtSimConfigure({ faults: { contextOomAfter: 0 } });
    const err = await run(fresh, 2, 1).catch((e: TrtnError) => e);
    expect((err as TrtnError).code).toBe('ERR_TENSORRT');
    expect((err as TrtnError).message).toMatch(/createExecutionContext failed/);
    fresh.dispose();
  });

  it('when memory holds one context only, concurrent calls queue for it instead of failing', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    sim().trtSimConfigure({ faults: { contextOomAfter: 1 } });
    const outs = await Promise.all([1, 2, 3, 4, 5].map((s) => run(engine, 2, s)));
    outs.forEach((o, i) => expectClose(o.logits!.data as Float32Array, reference([images(2, i + 1)], 2, 0, 10), `queued ${i}`));
    expect((engine as unknown as { deviceMemoryBytes: number }).deviceMemoryBytes).toBe((engine as unknown as { contextMemoryBytes: number }).contextMemoryBytes);
    engine.dispose();
  });

  it('a sticky CUDA error mid-infer is ERR_CUDA, and the engine says it is unusable afterwards', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    sim().trtSimConfigure({ faults: { stickyErrorAtEnqueue: 1 } });
    expect(await codeOf(run(engine, 2, 1))).toBe('ERR_CUDA');
    const again = await run(engine, 2, 1).catch((e: TrtnError) => e);
    expect((again as TrtnError).code).toBe('ERR_CUDA');
    expect((again as TrtnError).message).toMatch(/unusable/);
    engine.dispose();
  });

  it('the timing cache: a corrupt file is replaced with a warning, never failing the build; caches from two builds merge', async () => {
    const file = join(dir, 'timing.cache');
    writeFileSync(file, 'not a timing cache');
    const warnings: string[] = [];
    const logger = (s: string, m: string) => s === 'warning' && warnings.push(m);
    const a = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, timingCache: file, logger });
    expect(warnings.join('\n')).toMatch(/timing cache .* could not be read/);
    const written = readFileSync(file);
    expect(written.toString()).not.toBe('not a timing cache');
    // Two builds at once: serialized per device (the simulator records overlapping builds as a hazard), and the file
    // ends up with what both wrote.
    const [b, c] = await Promise.all([
      buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 8, timingCache: file, logger: quiet }),
      buildEngine(cnnVariant({ batch: 3 }), { precision: 'fp32', backend: 'tensorrt', timingCache: file, logger: quiet }),
    ]);
    expect(sim().trtSimStats().maxConcurrentBuilds).toBe(1);
    expect(readFileSync(file).length).toBeGreaterThan(written.length);
    // A cache from another device is tolerated the same way.
    sim().trtSimConfigure({ deviceName: 'Another GPU' });
    warnings.length = 0;
    const d = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, timingCache: file, logger });
    expect(warnings.join('\n')).toMatch(/another device or TensorRT version/);
    sim().trtSimConfigure({ deviceName: 'Simulated GPU' });
    for (const e of [a, b, c, d]) e.dispose();
  });

  it('profileBatchSizes: one profile per batch size; each batch runs on the tightest, outside all is ERR_SHAPE', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', profileBatchSizes: [1, 8, 32], logger: quiet });
    expect(engine.inputs[0]!.profiles?.map((p) => [p.min[0], p.opt[0], p.max[0]])).toEqual([[1, 1, 1], [2, 8, 8], [9, 32, 32]]);
    for (const rows of [1, 5, 8, 20]) expectClose((await run(engine, rows, rows)).logits!.data as Float32Array, reference([images(rows, rows)], rows, 0, 10), `batch ${rows}`);
    // More rows than the largest profile: infer runs consecutive slices; benchmark refuses the size.
    expectClose((await run(engine, 40, 4)).logits!.data as Float32Array, reference([images(40, 4)], 40, 0, 10), 'batch 40 in slices');
    expect(await codeOf(engine.benchmark({ batchSizes: [33] }))).toBe('ERR_SHAPE');
    engine.dispose();
  });

  it('benchmark follows trtexec: latency = H2D + compute + D2H, compute apart, throughput from host wall time', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', profileBatchSizes: [4, 16], logger: quiet });
    const result = await engine.benchmark({ batchSizes: [4, 16], warmupMs: 20, iterations: 5, durationMs: 50 });
    expect(result.timer).toBe('cuda-event');
    for (const row of result.rows) {
      expect(row.iterations).toBeGreaterThanOrEqual(5);
      // Per query latency is exactly the three stages (events 0..3), so the means add up.
      const parts = row.h2dMs!.mean + row.gpuMs!.mean + row.d2hMs!.mean;
      expect(Math.abs(row.latencyMs.mean - parts)).toBeLessThan(1e-6 * row.latencyMs.mean + 1e-3);
      expect(row.gpuMs!.median).toBeLessThan(row.latencyMs.median);
      expect(row.throughput).toBeGreaterThan(0);
    }
    const noCopies = await engine.benchmark({ batchSizes: [4], warmupMs: 0, iterations: 3, durationMs: 0, transfers: false });
    expect(noCopies.rows[0]!.h2dMs).toBeUndefined();
    engine.dispose();
  });

  it('dispose while an infer is in flight: the infer completes, the engine is freed off the JS thread, later calls are ERR_DISPOSED', async () => {
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet });
    const pending = run(engine, 4, 3);
    engine.dispose();
    expectClose((await pending).logits!.data as Float32Array, reference([images(4, 3)], 4, 0, 10), 'in flight');
    expect(await codeOf(run(engine, 1, 1))).toBe('ERR_DISPOSED');
    for (let i = 0; i < 100 && sim().trtSimStats().liveEngines > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim().trtSimStats().liveEngines).toBe(0);
  });

  it('progress and abort', async () => {
    const phases: string[] = [];
    const engine = await buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet, onProgress: (p) => phases.push(p.phase) });
    engine.dispose();
    if (progressMonitor) expect(phases.length).toBeGreaterThan(0);
    else expect(phases).toEqual([]);
    const controller = new AbortController();
    const aborted = buildEngine(CNN, { precision: 'fp32', backend: 'tensorrt', maxBatch: 4, logger: quiet, signal: controller.signal, onProgress: () => controller.abort() });
    if (!progressMonitor) setTimeout(() => controller.abort(), 0);
    const code = await codeOf(aborted);
    // 8.6 has no progress monitor: an abort lands between phases, or after a build that finished first.
    if (progressMonitor) expect(code).toBe('ERR_ABORTED');
    else expect([undefined, 'ERR_ABORTED']).toContain(code);
  });

  if (implicit) describe('implicit INT8 calibration', () => {
    it('re-batches the loader to the calibration shape, calls the calibrator on the builder thread, writes the cache', async () => {
      const cache = join(dir, 'cnn.calib');
      const warnings: string[] = [];
      const engine = await buildEngine(CNN, {
        precision: 'int8', backend: 'tensorrt', maxBatch: 8,
        calib: { data: loader('input', 5, 20), batchSize: 32, cache },
        logger: (s, m) => s === 'warning' && warnings.push(m),
      });
      expect(engine.path).toBe('implicit-int8 (entropy calibrator)');
      const stats = sim().trtSimStats();
      expect(stats.calibrationBatches).toBe(3); // 100 rows -> 3 batches of 32, 4 rows left over
      expect(stats.calibrationThreadIsBuilderThread).toBe(true);
      expect(warnings.join('\n')).toMatch(/last 4 row\(s\) did not fill a batch of 32/);
      expect(readFileSync(cache, 'utf8')).toMatch(/^TRT-\d+-EntropyCalibration2/);
      engine.dispose();
      // With the cache alone, no data is pulled.
      const again = await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { cache }, logger: quiet });
      expect(sim().trtSimStats().calibrationBatches).toBe(3);
      again.dispose();
    });

    it('a calibration cache written by this package (header 8601) is used by any TensorRT without data', async () => {
      const cache = join(dir, 'package.calib');
      writeFileSync(cache, writeCalibrationCache({ input: 0.05, logits: 0.2 }, { calibrator: 'EntropyCalibration2' }));
      const before = sim().trtSimStats().calibrationBatches;
      const engine = await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { cache }, logger: quiet });
      expect(sim().trtSimStats().calibrationBatches).toBe(before);
      engine.dispose();
    });

    it('a static-batch model and an input not called `input` calibrate on their own shape and name', async () => {
      const engine = await buildEngine(cnnVariant({ inputName: 'images', batch: 1 }), {
        precision: 'int8', backend: 'tensorrt', calib: { data: loader('images', 2, 32) }, logger: quiet,
      });
      expect(sim().trtSimStats().calibrationBatches).toBe(64);
      engine.dispose();
    });

    it('a wrong first batch is ERR_CALIB_DATA before any build work', async () => {
      const before = sim().trtSimStats().buildsStarted;
      const wrong = (async function* () {
        yield { input: { data: new Float32Array(100), dims: [1, 100], dtype: 'float32' as const } };
      })();
      const err = await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', calib: { data: wrong }, logger: quiet }).catch((e: TrtnError) => e);
      expect((err as TrtnError).code).toBe('ERR_CALIB_DATA');
      expect((err as TrtnError).details.tensor).toBe('input');
      expect(sim().trtSimStats().buildsStarted).toBe(before);
    });

    it('a loader that throws mid-way fails the build with its error (and stops it where TensorRT can be stopped)', async () => {
      const log: string[] = [];
      const err = await buildEngine(CNN, {
        precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { data: loader('input', 6, 32, { throwAt: 2 }), batchSize: 32 },
        logger: (s, m) => log.push(`${s}: ${m}`),
      }).catch((e: TrtnError) => e);
      expect((err as TrtnError).code).toBe('ERR_CALIB_DATA');
      expect(String(((err as TrtnError).cause as Error)?.message)).toMatch(/loader broke at batch 2/);
      if (progressMonitor) expect(log.join('\n')).toMatch(/cancel/i);
    });

    it('abort during calibration is ERR_ABORTED', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 30);
      const err = await buildEngine(CNN, {
        precision: 'int8', backend: 'tensorrt', maxBatch: 8, signal: controller.signal,
        calib: { data: loader('input', 50, 32, { delayMs: 10 }), batchSize: 32 }, logger: quiet,
      }).catch((e: TrtnError) => e);
      expect((err as TrtnError).code).toBe('ERR_ABORTED');
    });
  });

  if (!implicit) it('INT8 on 11.x goes through the explicit Q/DQ path (no calibrator, strongly typed)', async () => {
    const engine = await buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', maxBatch: 8, calib: { data: loader('input', 2, 32) }, logger: quiet });
    expect(engine.path).toMatch(/explicit-qdq/);
    expect(sim().trtSimStats().calibrationBatches).toBe(0);
    engine.dispose();
  });

  it('a model that already carries Q/DQ builds at int8 without calib, keeping its own scales (explicit quantization)', async () => {
    const { model } = await quantizeModel(CNN, { precision: 'int8', data: loader('input', 2, 32), target: 'tensorrt' });
    const warnings: string[] = [];
    const engine = await buildEngine(serializeModel(model), { precision: 'int8', backend: 'tensorrt', maxBatch: 4, calib: { data: loader('input', 1, 4) }, logger: (s, m) => s === 'warning' && warnings.push(m) });
    expect(engine.path).toMatch(/explicit-qdq \(scales from the model/);
    expect(warnings.join('\n')).toMatch(/already carries Q\/DQ/);
    expect(sim().trtSimStats().calibrationBatches).toBe(0);
    engine.dispose();
    expect(await codeOf(buildEngine(CNN, { precision: 'int8', backend: 'tensorrt', logger: quiet }))).toBe('ERR_INVALID_ARG');
  });

  it('leaves no TensorRT object and no device memory behind once engines are disposed', async () => {
    for (let i = 0; i < 100 && sim().trtSimStats().liveEngines > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const stats = sim().trtSimStats();
    expect({ engines: stats.liveEngines, contexts: stats.liveContexts, builders: stats.liveBuilders, configs: stats.liveConfigs }).toEqual({ engines: 0, contexts: 0, builders: 0, configs: 0 });
    expect(existsSync(join(dir, 'timing.cache.lock'))).toBe(true);
  });
});
