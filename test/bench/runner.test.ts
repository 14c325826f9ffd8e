import { describe, expect, it } from 'vitest';
import { runStudy } from '../../lib/bench/runner.js';
import { STUDY_SCHEMA } from '../../lib/bench/results.js';
import { SEGMENTS } from '../../lib/bench/measure.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';

describe('runStudy: cells that cannot run are reported with their reason', () => {
  it('backend tensorrt on a machine without it: every cell unavailable with the TrtnError code and message', async () => {
    const progress: number[] = [];
    const results = await runStudy(
      { models: [CNN], input: 'fmnist-28', batchSizes: [1, 4], precisions: ['fp32', 'int8'], backend: 'tensorrt', iterations: 2, warmupMs: 0 },
      { onProgress: (p) => progress.push(p.done) },
    );
    expect(results.schema).toBe(STUDY_SCHEMA);
    expect(results.cells).toHaveLength(4);
    for (const c of results.cells) {
      expect(c).toMatchObject({ model: 'fmnist_cnn', input: 'fmnist-28', inputShape: [1, 28, 28], backend: 'tensorrt', status: 'unavailable' });
      expect(c.error?.code).toBe('ERR_BACKEND_UNAVAILABLE');
      expect(c.error?.message).toMatch(/tensorrt/);
      expect(c.latencyMs).toBeUndefined();
    }
    expect(results.cells.map((c) => `${c.column}@${c.batchSize}`)).toEqual(['fp32@1', 'fp32@4', 'int8@1', 'int8@4']);
    expect(progress.at(-1)).toBe(4);
    expect(results.environment.cpu.cores).toBeGreaterThan(0);
    expect(results.environment.versions['onnxruntime-node']).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.environment.versions['tensorrt-node']).toBe('0.1.0');
  });

  it('a model file that does not exist fails its cells with ERR_IO naming the file', async () => {
    const results = await runStudy({ models: ['test/fixtures/models/nope.onnx'], input: 'fmnist-28', batchSizes: [2], precisions: ['fp32'], backend: 'tensorrt' });
    expect(results.cells).toHaveLength(1);
    expect(results.cells[0]).toMatchObject({ status: 'failed', model: 'nope', error: { code: 'ERR_IO' } });
    expect(results.cells[0]!.error!.message).toContain('test/fixtures/models/nope.onnx');
  });

  it('aborts with ERR_ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runStudy({ models: [CNN], input: 'fmnist-28', batchSizes: [1], precisions: ['fp32'], backend: 'tensorrt' }, { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});

describe('runStudy on the ONNX Runtime backend', () => {
  it('builds each column once, measures accuracy on real Fashion-MNIST, relates cells to base', async () => {
    await import('../../lib/backends/index.js');
    const steps: string[] = [];
    const results = await runStudy({
      suites: [{ input: 'fmnist-28', models: [CNN], calibration: 'fashion-mnist:train', calibrationCount: 128, accuracy: 'fashion-mnist:test', accuracyCount: 500 }],
      batchSizes: [1, 4],
      precisions: ['base', 'fp32', 'int8'],
      backend: 'onnxruntime',
      iterations: 10,
      warmupMs: 20,
      durationMs: 50,
      streams: 2,
    }, { onProgress: (p) => steps.push(p.current) });
    const get = (column: string, bs: number) => results.cells.find((c) => c.column === column && c.batchSize === bs)!;
    expect(results.cells).toHaveLength(6);
    for (const column of ['base', 'fp32', 'int8']) {
      for (const bs of [1, 4]) {
        const c = get(column, bs);
        expect(c.status).toBe('ok');
        // At least `iterations` queries in 5 segments; p90 from 10 samples, no p99 below 100.
        expect(c.latencyMs!.n).toBeGreaterThanOrEqual(10);
        expect(c.latencyMs!.p90).toBeGreaterThanOrEqual(c.latencyMs!.median);
        if (c.latencyMs!.n < 100) expect(c.latencyMs!.p99).toBeUndefined();
        expect(c.latencyMs!.min).toBeLessThanOrEqual(c.latencyMs!.median);
        expect(c.latencyMs!.cv).toBeGreaterThanOrEqual(0);
        expect(c.attempts! >= 1 && c.attempts! <= 2).toBe(true);
        expect(c.unstable).toBe(c.latencyMs!.cv > 0.1);
        // Throughput comes from its own run with 2 queries in flight.
        expect(c.streams).toBe(2);
        expect(c.throughput).toBeGreaterThan(0);
        const base = get('base', bs);
        expect(c.speedup).toBeCloseTo(base.latencyMs!.median / c.latencyMs!.median, 12);
        expect(c.improvementFactor).toBeCloseTo(c.throughput! / base.throughput!, 12);
        // engine.infer against the runtime's own timer.
        expect(c.overheadMs).toBeCloseTo(c.inferMs!.median - c.latencyMs!.median, 12);
        expect(c.loadBefore).toBeGreaterThanOrEqual(0);
        expect(c.loadAfter).toBeGreaterThanOrEqual(0);
        expect(c.engineBytes).toBeGreaterThan(10_000);
        expect(c.peakRssBytes).toBeGreaterThan(0);
      }
      // Stratified 500-item subset of the test split: the trained cnn is ~90.75% on all 10k.
      const acc = get(column, 1).accuracy!;
      expect(acc.total).toBe(500);
      expect(acc.top1).toBeGreaterThan(0.85);
      expect(acc.top1).toBeLessThan(0.97);
    }
    expect(get('base', 1).accuracy!.correct).toBe(get('fp32', 4).accuracy!.correct); // same weights, same answers
    expect(get('base', 1).path).toContain('disabled');
    // Every column is built (and scored) before any is timed; then SEGMENTS rounds, each giving every cell one turn,
    // batch-major, so cells compared with each other are measured side by side and each cell's noise spans the window.
    const timed = steps.filter((x) => / round \d+\/\d+$/.test(x));
    const lastBuild = steps.findLastIndex((x) => /: (calibrating \+ )?building$|: accuracy on /.test(x));
    expect(lastBuild).toBeLessThan(steps.indexOf(timed[0]!));
    const turns = [...new Set(timed)];
    const expected: string[] = [];
    for (let r = 1; r <= SEGMENTS; r++) for (const bs of [1, 4]) for (const col of ['base', 'fp32', 'int8']) expected.push(`fmnist-28 fmnist_cnn ${col} batch ${bs} round ${r}/${SEGMENTS}`);
    expect(turns.filter((x) => !x.includes('re-measure'))).toEqual(expected);
    for (const c of results.cells) expect(c.latencyMs!.n).toBeGreaterThanOrEqual(SEGMENTS);
    expect(get('int8', 1).path).toContain('int8');
    // INT8 from 128 calibration images stays within 2 points of FP32 on these 500 images.
    expect(Math.abs(get('int8', 1).accuracy!.top1 - get('fp32', 1).accuracy!.top1)).toBeLessThan(0.02);
  });
});

describe('runStudy: re-measures of unstable cells', () => {
  it('a cell above maxCv is re-measured in its own rounds, up to remeasures times, and marked UNSTABLE', async () => {
    await import('../../lib/backends/index.js');
    const steps: string[] = [];
    const results = await runStudy(
      { models: [CNN], input: 'fmnist-28', batchSizes: [2], precisions: ['fp32'], backend: 'onnxruntime', iterations: 10, warmupMs: 0, durationMs: 10, maxCv: 1e-12, remeasures: 2, streams: 1 },
      { onProgress: (p) => steps.push(p.current) },
    );
    const [cell] = results.cells;
    expect(cell).toMatchObject({ status: 'ok', attempts: 3, unstable: true });
    for (const k of [1, 2]) expect(steps.filter((x) => x.includes(`(re-measure ${k}) round`))).toHaveLength(SEGMENTS);
    // The overhead and throughput come from the full rounds, not from the latency-only re-measures.
    expect(cell!.inferMs!.n).toBeGreaterThanOrEqual(SEGMENTS);
    expect(cell!.throughput).toBeGreaterThan(0);
  });
});
