import { describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { checkModel, inspectModel, serializeModel, parseModel } from '../../lib/onnx/index.js';
import { cnn, generateModel, mobilenetV1, resnet50, vgg16 } from '../../lib/models/index.js';
import { isTrtnError } from '../../lib/errors.js';

async function runOrt(bytes: Uint8Array, batch: number, shape: [number, number, number]) {
  const session = await ort.InferenceSession.create(bytes);
  const n = batch * shape[0] * shape[1] * shape[2];
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 1.5; // deterministic, varied input
  const out = await session.run({ input: new ort.Tensor('float32', data, [batch, ...shape]) });
  await session.release();
  return out.logits!;
}

describe('parameter counts of the published configurations (224x224x3, 1000 classes)', () => {
  test('VGG16 without BN: 138,357,544 (138.36M); with BN +2 per channel (gamma, beta) as in torchvision vgg16_bn', () => {
    expect(inspectModel(vgg16({ weights: 'none', batchNorm: false })).parameterCount).toBe(138_357_544);
    const bn = inspectModel(vgg16({ weights: 'none' }));
    expect(bn.parameterCount).toBe(138_365_992);
    // running mean/var of the 4224 BN channels are initializers but not parameters
    expect(bn.initializerElements).toBe(138_365_992 + 2 * 4224);
  });
  test('ResNet-50: 25,557,032 (25.56M)', () => {
    const s = inspectModel(resnet50({ weights: 'none' }));
    expect(s.parameterCount).toBe(25_557_032);
    expect(s.opCounts.Conv).toBe(53);
    expect(s.opCounts.Add).toBe(16);
    expect(s.opCounts.Gemm).toBe(1);
  });
  test('MobileNet_v1 alpha 1: 4,231,976 (4.23M); alpha 0.5 shrinks it', () => {
    const s = inspectModel(mobilenetV1({ weights: 'none' }));
    expect(s.parameterCount).toBe(4_231_976);
    expect(s.opCounts.Conv).toBe(27);
    expect(inspectModel(mobilenetV1({ weights: 'none', alpha: 0.5 })).parameterCount).toBeLessThan(1_400_000);
  });
  test('cnn: 20,490 parameters at 28x28x1, 10 classes (hand count: 160 + 4640 + 1568*10+10)', () => {
    expect(inspectModel(cnn()).parameterCount).toBe(160 + 4640 + 15690);
  });
  test('the big configurations pass checkModel and infer the logits shape', () => {
    for (const name of ['vgg16', 'resnet50', 'mobilenet_v1'] as const) {
      const report = checkModel(generateModel(name, { weights: 'none' }));
      expect(report.shapes.get('logits')?.shape).toEqual(['N', 1000]);
      expect(report.unknownOps).toEqual([]);
    }
  });
});

describe('generated models run in ONNX Runtime', () => {
  const small: [number, number, number] = [3, 48, 48];
  const cases = [
    ['vgg16', { fcWidth: 256 }],
    ['resnet50', {}],
    ['mobilenet_v1', { alpha: 0.5 }],
    ['cnn', { inputShape: [1, 28, 28] }],
  ] as const;
  for (const [name, extra] of cases) {
    test(`${name}: checkModel passes, a batch of 2 gives finite, non-degenerate [2, 10] logits`, async () => {
      const shape = ('inputShape' in extra ? extra.inputShape : small) as [number, number, number];
      const model = generateModel(name, { inputShape: shape, classes: 10, seed: 7, ...extra });
      const report = checkModel(model);
      expect(report.shapes.get('logits')?.shape).toEqual(['N', 10]);
      const bytes = serializeModel(model);
      const logits = await runOrt(bytes, 2, shape);
      expect(logits.dims).toEqual([2, 10]);
      const values = Array.from(logits.data as Float32Array);
      expect(values.every(Number.isFinite)).toBe(true);
      // non-degenerate: the classes differ and the two samples differ
      expect(new Set(values.map((v) => v.toFixed(6))).size).toBeGreaterThan(10);
      const summary = inspectModel(parseModel(bytes));
      expect(summary.inputs).toEqual([{ name: 'input', elemType: 'FLOAT', shape: ['N', ...shape] }]);
      expect(summary.outputs).toEqual([{ name: 'logits', elemType: 'FLOAT', shape: ['N', 10] }]);
      expect(summary.opset).toBe(17);
    });
  }
  test('weights are deterministic per seed', () => {
    const a = serializeModel(cnn({ seed: 1 }));
    expect(Buffer.compare(Buffer.from(a), Buffer.from(serializeModel(cnn({ seed: 1 }))))).toBe(0);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(serializeModel(cnn({ seed: 2 }))))).not.toBe(0);
  });
  test('bad options are ERR_INVALID_ARG', () => {
    const bad = [() => vgg16({ inputShape: [3, 16, 16] }), () => mobilenetV1({ alpha: 0 }), () => cnn({ classes: 0 }), () => generateModel('alexnet' as never)];
    for (const f of bad) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(isTrtnError(err, 'ERR_INVALID_ARG')).toBe(true);
    }
  });
});
