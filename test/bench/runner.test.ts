import { describe, expect, it } from 'vitest';
import { runStudy } from '../../lib/bench/runner.js';
import { STUDY_SCHEMA } from '../../lib/bench/results.js';

const CNN = 'test/fixtures/models/fmnist_cnn.onnx';

describe('runStudy: cells that cannot run are reported with their reason', () => {
  it('backend tensorrt on a machine without it: every cell unavailable with the TrtnError code and message', async () => {
    const progress: number[] = [];
    const results = await runStudy(
      { models: [CNN], input: 'fmnist-28', batchSizes: [1, 4], precisions: ['fp32', 'int8'], backend: 'tensorrt', iterations: 2, warmup: 0 },
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
