import { describe, expect, it } from 'vitest';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';
import { fashionMnist, subset } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import { readBatches } from '../../lib/quantize/channels.js';
import { buildEngine, loadEngine } from '../../lib/engine/api.js';
import '../../lib/backends/onnxruntime/index.js';

describe('models that already carry Q/DQ (QAT exports, another tool\'s PTQ)', async () => {
  const train = await fashionMnist({ split: 'train' });
  const calib = subset(train, 128, { stratified: true, seed: 0 });
  const float = loadModel('test/fixtures/models/fmnist_cnn.onnx');
  // a Q/DQ model from a PTQ run stands in for a QAT export: Q/DQ nodes with scales as initializers
  const prequantized = (await quantizeModel(float, { precision: 'int8', data: calib, calibSize: 128 })).model;
  const bytes = serializeModel(prequantized);

  it('builds at int8 without calib, keeping the model and its scales, and says so', async () => {
    const again = await quantizeModel(prequantized, { precision: 'int8' });
    expect(again.model).toBe(prequantized);
    expect(again.report.scalesFrom).toBe('model');
    const q = prequantized.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').length;
    expect(again.report.path).toBe(`qdq-int8 (scales from the model: ${q} QuantizeLinear, ${prequantized.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').length} DequantizeLinear)`);
    expect(again.scales.size).toBeGreaterThan(0);

    const engine = await buildEngine(bytes, { precision: 'int8', backend: 'onnxruntime' });
    const loaded = await loadEngine(bytes, { backend: 'onnxruntime' });
    try {
      expect(engine.path).toBe(again.report.path);
      expect(engine.precision).toBe('int8');
      const [batch] = await readBatches(calib, 'input', 16, 16);
      const a = (await engine.infer(batch!.feeds)).logits!.data;
      const b = (await loaded.infer(batch!.feeds)).logits!.data;
      expect(Array.from(a)).toEqual(Array.from(b));
    } finally {
      engine.dispose();
      loaded.dispose();
    }
  });

  it('warns that calibration data given for such a model is not used', async () => {
    const warnings: string[] = [];
    const r = await quantizeModel(prequantized, { precision: 'int8', data: calib, logger: (severity, message) => severity === 'warning' && warnings.push(message) });
    expect(r.report.warnings).toEqual(warnings);
    expect(warnings).toEqual([expect.stringMatching(/^the model already carries Q\/DQ \(\d+ QuantizeLinear, \d+ DequantizeLinear\): its own scales are used, the calibration data ignored$/)]);
  });

  it('a float model at int8 without calib is still an ERR_INVALID_ARG', async () => {
    await expect(buildEngine('test/fixtures/models/fmnist_cnn.onnx', { precision: 'int8', backend: 'onnxruntime' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/calib/) });
  });
});
