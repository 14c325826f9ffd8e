import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../lib/backends/index.js';
import { buildEngine } from '../../lib/engine/api.js';
import type { Engine } from '../../lib/engine/types.js';
import { measureInfer, measureLatency, measureThroughput, RoundMeter, SEGMENTS, type MeasureSettings } from '../../lib/bench/measure.js';

const settings = (over: Partial<MeasureSettings> = {}): MeasureSettings => ({ warmupMs: 30, durationMs: 100, iterations: 10, maxCv: 10, remeasures: 1, streams: 2, ...over });

describe('measuring a cell on a real engine (Fashion-MNIST cnn, ONNX Runtime)', () => {
  let engine: Engine;
  let spare: Engine;
  beforeAll(async () => {
    const bytes = await readFile('test/fixtures/models/fmnist_cnn.onnx');
    engine = await buildEngine(bytes, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } });
    spare = await buildEngine(bytes, { precision: 'fp32', backend: 'onnxruntime', session: { intraOpThreads: 1 } });
  });
  afterAll(() => {
    engine?.dispose();
    spare?.dispose();
  });

  it('latency: at least `iterations` queries and the duration, in segments, with CV and the median\'s noise', async () => {
    const t0 = performance.now();
    const run = await measureLatency(engine, 4, settings({ durationMs: 0, iterations: 23 }));
    // 23 queries in 5 segments of ceil(23 / 5) = 5.
    expect(run.latency.n).toBe(SEGMENTS * 5);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30); // the time-based warm-up ran first
    expect(run.attempts).toBe(1);
    expect(run.unstable).toBe(false);
    expect(run.timer).toBe('host');
    expect(run.latency.p90).toBeGreaterThanOrEqual(run.latency.median);
    expect(run.latency.p99).toBeUndefined();
    expect(run.latency.noise).toBeGreaterThanOrEqual(0);
    // A duration longer than `iterations` queries take: more queries than asked.
    const long = await measureLatency(engine, 4, settings({ durationMs: 200, iterations: 10 }));
    expect(long.latency.n).toBeGreaterThan(10);
  });

  it('a run whose CV exceeds the threshold is re-measured, then marked unstable', async () => {
    const run = await measureLatency(engine, 1, settings({ maxCv: 1e-9, remeasures: 2, durationMs: 0 }));
    expect(run.attempts).toBe(3);
    expect(run.unstable).toBe(true);
    expect(run.latency.cv).toBeGreaterThan(1e-9);
  });

  it('throughput: several queries in flight over several engines, at least `iterations` queries', async () => {
    let inFlight = 0;
    let most = 0;
    const counting = (e: Engine): Engine => Object.assign(Object.create(e) as Engine, {
      inputs: e.inputs,
      infer: async (...args: Parameters<Engine['infer']>) => {
        most = Math.max(most, ++inFlight);
        try {
          return await e.infer(...args);
        } finally {
          inFlight--;
        }
      },
    });
    const run = await measureThroughput([counting(engine), counting(spare)], 8, settings({ streams: 3, durationMs: 100, iterations: 40 }));
    expect(most).toBe(3);
    expect(run.streams).toBe(3);
    expect(run.queries).toBeGreaterThanOrEqual(40);
    expect(run.throughput).toBeGreaterThan(0);
    expect(run.noise).toBeGreaterThanOrEqual(0);
  });

  it('engine.infer timed on the caller\'s thread gives the overhead column its figure', async () => {
    const infer = await measureInfer(engine, 2, 0, 10);
    expect(infer.n).toBe(10);
    expect(infer.median).toBeGreaterThan(0);
  });

  it('RoundMeter: one latency, infer and throughput segment per round; the stats span every round', async () => {
    const meter = new RoundMeter(engine, [engine, spare], 4, settings({ durationMs: 0, iterations: 15 }), { inferMs: 0 });
    for (let r = 0; r < SEGMENTS; r++) await meter.round();
    const latency = meter.latency();
    expect(latency.latency.n).toBe(SEGMENTS * 3); // ceil(15 / 5) queries a round
    expect(latency.attempts).toBe(1);
    expect(meter.infer()!.n).toBe(SEGMENTS * 3);
    const tp = meter.throughput()!;
    expect(tp.queries).toBeGreaterThanOrEqual(SEGMENTS * 3);
    expect(tp.throughput).toBeGreaterThan(0);
    expect(meter.throughputError).toBeUndefined();
  });

  it('RoundMeter: a failing throughput stream keeps the latency and reports the error; latencyOnly times latency alone', async () => {
    const broken = Object.assign(Object.create(spare) as Engine, { inputs: spare.inputs, infer: async () => { throw new Error('stream down'); } });
    const meter = new RoundMeter(engine, [broken], 2, settings({ durationMs: 0 }), { inferMs: 0 });
    await meter.round();
    await meter.round();
    expect((meter.throughputError as Error).message).toBe('stream down');
    expect(meter.throughput()).toBeUndefined();
    expect(meter.latency().latency.n).toBeGreaterThan(0);
    const only = new RoundMeter(engine, [broken], 2, settings({ durationMs: 0 }), { latencyOnly: true });
    await only.round();
    expect(only.infer()).toBeUndefined();
    expect(only.throughputError).toBeUndefined();
    expect(() => new RoundMeter(engine, [], 1, settings()).latency()).toThrow(/before any round/);
  });

  it('an aborted signal stops a measurement with ERR_ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(measureLatency(engine, 1, settings(), controller.signal)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
