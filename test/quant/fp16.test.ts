import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadModel, serializeModel } from '../../lib/onnx/io.js';
import { DataType } from '../../lib/onnx/model.js';
import { convertToFp16 } from '../../lib/onnx/fp16.js';
import { fashionMnist } from '../../lib/data/index.js';

describe('FP16 conversion', () => {
  it('converts weights to float16, keeps float32 at the boundary, and matches FP32 within tolerance on real images', async () => {
    const fp32 = loadModel('test/fixtures/models/fmnist_mobilenet_v1.onnx');
    const { model, report } = convertToFp16(fp32);
    expect(model.graph.initializers.every((t) => t.dataType !== DataType.FLOAT)).toBe(true);
    expect(report.convertedInitializers).toBe(fp32.graph.initializers.length);
    expect(model.graph.inputs[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT);
    expect(model.graph.outputs[0]!.type!.tensorType!.elemType).toBe(DataType.FLOAT);
    expect(report.casts).toBe(2);
    expect(model.graph.nodes[0]).toMatchObject({ opType: 'Cast', inputs: ['input'] });
    expect(model.graph.nodes.at(-1)).toMatchObject({ opType: 'Cast', outputs: ['logits'] });

    const test = await fashionMnist({ split: 'test' });
    let f: Float32Array | undefined;
    for await (const b of test.batches({ batchSize: 32 })) {
      f = b.feeds.input!.data as Float32Array;
      break;
    }
    const feeds = { input: new ort.Tensor('float32', f!, [32, 1, 28, 28]) };
    const a = (await (await ort.InferenceSession.create(serializeModel(fp32))).run(feeds)).logits!.data as Float32Array;
    const b = (await (await ort.InferenceSession.create(serializeModel(model))).run(feeds)).logits!.data as Float32Array;
    let maxDiff = 0;
    let argAgree = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    for (let r = 0; r < 32; r++) {
      const arg = (l: Float32Array) => l.subarray(r * 10, r * 10 + 10).reduce((best, v, i, arr) => (v > arr[best]! ? i : best), 0);
      if (arg(a) === arg(b)) argAgree++;
    }
    expect(maxDiff).toBeLessThan(0.1);
    expect(argAgree).toBeGreaterThanOrEqual(31);
  });

  it('keeps listed op types and node names in float32 with Casts around them', () => {
    const fp32 = loadModel('test/fixtures/models/fmnist_cnn.onnx');
    const gemm = fp32.graph.nodes.find((n) => n.opType === 'Gemm')!;
    const { model, report } = convertToFp16(fp32, { keepFp32: ['MaxPool', gemm.name] });
    expect(report.keptFp32.map((e) => e.opType)).toEqual(['MaxPool', 'MaxPool', 'Gemm']);
    // the kept Gemm's weight stays float32; the other Gemm's weight is float16
    const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
    expect(byName.get(gemm.inputs[1]!)!.dataType).toBe(DataType.FLOAT);
    const other = fp32.graph.nodes.filter((n) => n.opType === 'Gemm')[1]!;
    expect(byName.get(other.inputs[1]!)!.dataType).toBe(DataType.FLOAT16);
    const casts = model.graph.nodes.filter((n) => n.opType === 'Cast');
    expect(casts.length).toBe(report.casts);
    // each kept node reads Cast-to-float32 outputs and its outputs are cast back for the fp16 readers
    for (const kept of model.graph.nodes.filter((n) => n.opType === 'MaxPool')) {
      const producer = model.graph.nodes.find((n) => n.outputs.includes(kept.inputs[0]!))!;
      expect(producer).toMatchObject({ opType: 'Cast' });
    }
    return ort.InferenceSession.create(serializeModel(model)).then((s) => s.release());
  });
});
