import { describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/onnx/io.js';
import { planQdq } from '../../lib/onnx/qdq.js';
import { calibrate, collectStatistics } from '../../lib/calib/calibrate.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import '../../lib/backends/onnxruntime/index.js'; // calibration's statistics host
import type { Feeds } from '../../lib/data/types.js';

const cnn = loadModel('test/fixtures/models/fmnist_cnn.onnx');
const tensors = ['input', ...planQdq(cnn).calibrate];
const feed = (values: Float32Array, n: number): Feeds => ({ input: { data: values, dims: [n, 1, 28, 28], dtype: 'float32' } });

describe('calibration over real Fashion-MNIST batches', () => {
  it('collects statistics of the exposed tensors and the input, and turns them into scales', async () => {
    const train = await fashionMnist({ split: 'train' });
    const data = subset(train, 128, { seed: 3 });
    const { stats, batches, images } = await collectStatistics(cnn, tensors, data, { batchSize: 50 });
    expect([batches, images]).toEqual([3, 128]);
    const input = stats.get('input')!;
    expect(input.count).toBe(128 * 784);
    // normalised pixels: (0/255 - 0.286)/0.353 and (255/255 - 0.286)/0.353
    expect(input.min).toBeCloseTo(-0.286 / 0.353, 5);
    expect(input.max).toBeCloseTo((1 - 0.286) / 0.353, 5);
    for (const t of tensors.filter((x) => x !== 'input')) expect(stats.get(t)!.min).toBe(0); // post-Relu tensors
    const result = await calibrate(cnn, tensors, data, { algorithm: 'minmax', batchSize: 64 });
    expect(result.amax.get('input')).toBeCloseTo(input.max, 5);
    for (const [t, s] of result.scales) expect(s).toBeCloseTo(result.amax.get(t)! / 127, 12);
    const entropy = await calibrate(cnn, tensors, data, { algorithm: 'entropy', batchSize: 64 });
    expect(entropy.amax.get('input')).toBeCloseTo(input.max, 5); // inputs use minmax by default
    for (const t of tensors.filter((x) => x !== 'input')) expect(entropy.amax.get(t)!).toBeLessThanOrEqual(result.amax.get(t)! + 1e-6);
  });

  it('an empty loader is ERR_CALIB_DATA', async () => {
    await expect(collectStatistics(cnn, tensors, [], {})).rejects.toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/no batches/) });
    await expect(quantizeModel(cnn, { precision: 'int8', data: (async function* () {})() })).rejects.toMatchObject({ code: 'ERR_CALIB_DATA' });
  });

  it('a loader that throws is ERR_CALIB_DATA carrying the cause', async () => {
    const cause = new Error('disk on fire');
    async function* loader() {
      yield feed(new Float32Array(784 * 2), 2);
      throw cause;
    }
    const err = await collectStatistics(cnn, tensors, loader(), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CALIB_DATA', message: expect.stringMatching(/batch 1.*disk on fire/) });
    let root: unknown = err;
    while (root instanceof Error && root.cause !== undefined) root = root.cause;
    expect(root).toBe(cause);
  });

  it('NaN in a calibration tensor is ERR_CALIB_DATA naming the tensor and batch', async () => {
    const bad = new Float32Array(784 * 2);
    bad[900] = NaN;
    const err = await collectStatistics(cnn, tensors, [feed(new Float32Array(784 * 2), 2), feed(bad, 2)], {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CALIB_DATA', details: { tensor: 'input', batch: 1 } });
    expect((err as Error).message).toMatch(/'input' has NaN at index 900 in calibration batch 1/);
  });

  it('a batch of the wrong dtype is ERR_CALIB_DATA naming the feed', async () => {
    const err = await collectStatistics(cnn, tensors, [{ input: { data: new Uint8Array(784), dims: [1, 1, 28, 28], dtype: 'uint8' } }], {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CALIB_DATA', details: { tensor: 'input' } });
  });
});
