/**
 * FP16 conversion rules, each checked by running the converted model in onnxruntime-node against the float32 model:
 * the converter must always produce a model ONNX Runtime accepts, with the same answers within float16 precision.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from '../../lib/onnx/fp16.js';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import { DataType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type ShapeDim } from '../../lib/onnx/model.js';
import { makeInt64Tensor, makeTensor } from '../../lib/onnx/tensor.js';

const value = (name: string, elemType: number, shape?: ShapeDim[]): OnnxValueInfo => ({ name, type: { tensorType: { elemType, ...(shape ? { shape } : {}) } } });
const graph = (nodes: OnnxNode[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[], initializers: OnnxTensor[] = []): OnnxGraph => ({ name: 'g', nodes, initializers, inputs, outputs, valueInfo: [] });
const model = (g: OnnxGraph): OnnxModel => ({ irVersion: 9, opsetImport: [{ domain: '', version: 19 }], graph: g });

/** Run both models on the same feeds; the float16 one must load and agree within `tol`. */
async function agree(m: OnnxModel, feeds: Record<string, ort.Tensor>, tol = 1e-2): Promise<ReturnType<typeof convertToFp16>['report']> {
  const { model: half, report } = convertToFp16(m);
  const full = await ort.InferenceSession.create(serializeModel(m));
  const fp16 = await ort.InferenceSession.create(serializeModel(half));
  const want = await full.run(feeds);
  const got = await fp16.run(feeds);
  for (const [name, t] of Object.entries(want)) {
    expect(got[name]!.type).toBe(t.type);
    expect(got[name]!.dims).toEqual(t.dims);
    const a = Array.from(got[name]!.data as ArrayLike<number | bigint>, Number);
    Array.from(t.data as ArrayLike<number | bigint>, Number).forEach((v, i) => expect(Math.abs(a[i]! - v)).toBeLessThanOrEqual(tol * (1 + Math.abs(v))));
  }
  await Promise.all([full.release(), fp16.release()]);
  return report;
}

const floats = (n: number, dims: number[]) => new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1)), dims);

describe('FP16 conversion rules', () => {
  it('Resize keeps its scales float32, even when they come from a graph input', async () => {
    const m = model(graph(
      [makeNode('Resize', ['x', '', 'scales'], ['y'], { attributes: [attr.string('mode', 'nearest')] })],
      [value('x', DataType.FLOAT, [1, 1, 2, 2]), value('scales', DataType.FLOAT, [4])],
      [value('y', DataType.FLOAT)],
    ));
    await agree(m, { x: floats(4, [1, 1, 2, 2]), scales: new ort.Tensor('float32', Float32Array.of(1, 1, 2, 2), [4]) });
  });

  it('If keeps its branches float32, and what they read from the outer graph stays float32', async () => {
    const branch = (op: string) => graph([makeNode(op, ['h', 'h'], ['o'])], [], [value('o', DataType.FLOAT)]);
    const m = model(graph(
      [
        makeNode('Relu', ['x'], ['h']),
        makeNode('If', ['c'], ['r'], { name: 'choose', attributes: [attr.graph('then_branch', branch('Add')), attr.graph('else_branch', branch('Mul'))] }),
        makeNode('Sigmoid', ['r'], ['y']),
      ],
      [value('x', DataType.FLOAT, [3]), value('c', DataType.BOOL, [])],
      [value('y', DataType.FLOAT, [3])],
    ));
    const report = await agree(m, { x: floats(3, [3]), c: new ort.Tensor('bool', Uint8Array.of(1), []) });
    expect(report.keptFp32).toEqual([{ node: 'choose', opType: 'If', reason: expect.stringContaining('subgraph') }]);
    expect(report.fp16Nodes).toBe(2);
  });

  it('ConstantOfShape without a value makes float16 zeros next to float16 tensors', async () => {
    const m = model(graph(
      [makeNode('Shape', ['x'], ['s']), makeNode('ConstantOfShape', ['s'], ['z']), makeNode('Add', ['x', 'z'], ['y'])],
      [value('x', DataType.FLOAT, [2, 3])],
      [value('y', DataType.FLOAT, [2, 3])],
    ));
    await agree(m, { x: floats(6, [2, 3]) });
  });

  it('NonMaxSuppression stays float32 and its int64 inputs are not cast', async () => {
    const boxes = makeTensor('boxes', Float32Array.of(0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 10, 1, 11), [1, 3, 4]);
    const m = model(graph(
      [
        makeNode('Mul', ['scores_in', 'one'], ['scores'], { name: 'scale' }),
        makeNode('NonMaxSuppression', ['boxes', 'scores', 'max', 'iou'], ['sel'], { name: 'nms' }),
      ],
      [value('scores_in', DataType.FLOAT, [1, 1, 3])],
      [value('sel', DataType.INT64)],
      [boxes, makeTensor('one', Float32Array.of(1), [1]), makeInt64Tensor('max', [3], [1]), makeTensor('iou', Float32Array.of(0.5), [1])],
    ));
    const report = await agree(m, { scores_in: new ort.Tensor('float32', Float32Array.of(0.9, 0.75, 0.6), [1, 1, 3]) });
    expect(report.keptFp32.map((k) => k.opType)).toEqual(['NonMaxSuppression']);
  });

  it('ops of other domains (ai.onnx.ml) stay float32 with Casts at their boundary', async () => {
    const m: OnnxModel = {
      ...model(graph(
        [makeNode('Abs', ['x'], ['a']), makeNode('Binarizer', ['a'], ['b'], { domain: 'ai.onnx.ml', attributes: [attr.float('threshold', 0.5)] }), makeNode('Neg', ['b'], ['y'])],
        [value('x', DataType.FLOAT, [4])],
        [value('y', DataType.FLOAT, [4])],
      )),
      opsetImport: [{ domain: '', version: 19 }, { domain: 'ai.onnx.ml', version: 3 }],
    };
    const report = await agree(m, { x: floats(4, [4]) });
    expect(report.keptFp32).toEqual([{ node: 'Binarizer#1', opType: 'Binarizer', reason: 'domain ai.onnx.ml' }]);
  });
});
