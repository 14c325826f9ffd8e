// Where the addon cannot load (no prebuild for the platform, no compiler), calibration on ONNX Runtime still works:
// the fetched tensors come back from the worker and TensorStats adds them in JavaScript.
import { afterAll, describe, expect, it } from 'vitest';

const before = process.env.TRTN_ADDON_PATH;
afterAll(() => {
  if (before === undefined) delete process.env.TRTN_ADDON_PATH;
  else process.env.TRTN_ADDON_PATH = before;
});

describe('calibration statistics without the native addon', () => {
  it('come from the JavaScript loop and the reference search; a NaN or Inf is still named', async () => {
    process.env.TRTN_ADDON_PATH = '/nonexistent/tensorrt_node.node'; // before anything loads the addon in this file's process
    const { calibKernels } = await import('../../lib/calib/kernels.js');
    const { calibrate } = await import('../../lib/calib/calibrate.js');
    const { fashionMnist, subset } = await import('../../lib/data/index.js');
    const { loadModel } = await import('../../lib/onnx/io.js');
    const { planQdq } = await import('../../lib/onnx/qdq.js');
    await import('../../lib/backends/onnxruntime/index.js');
    expect(calibKernels()).toBeNull();
    const cnn = loadModel('test/fixtures/models/fmnist_cnn.onnx');
    const tensors = ['input', ...planQdq(cnn).calibrate];
    const data = subset(await fashionMnist({ split: 'train' }), 96, { seed: 2 });
    const result = await calibrate(cnn, tensors, data, { batchSize: 32 });
    expect(result.batches).toBe(3);
    for (const t of tensors) expect(result.scales.get(t)).toBeGreaterThan(0);
    const bad = new Float32Array(784).fill(0.5);
    bad[10] = Infinity;
    const err = await calibrate(cnn, tensors, [{ input: { data: bad, dims: [1, 1, 28, 28], dtype: 'float32' } }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CALIB_DATA', details: { tensor: 'input', batch: 0, index: 10 } });
  });
});
