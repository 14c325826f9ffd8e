/** checkModel / inferShapes on forms ONNX accepts: it may say "unknown", never reject, and what it infers is right. */
import { describe, expect, it } from 'vitest';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { checkModel, inferShapes } from '../../lib/onnx/check.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type ShapeDim } from '../../lib/onnx/model.js';
import { makeTensor } from '../../lib/onnx/tensor.js';

const value = (name: string, elemType: number, shape?: ShapeDim[]): OnnxValueInfo => ({ name, type: { tensorType: { elemType, ...(shape ? { shape } : {}) } } });

function model(nodes: OnnxNode[], inputs: OnnxValueInfo[], outputs: OnnxValueInfo[], initializers: OnnxTensor[] = [], opsetImport = [{ domain: '', version: 21 }]): OnnxModel {
  return { irVersion: 10, opsetImport, graph: { name: 'g', nodes, initializers, inputs, outputs, valueInfo: [] } };
}

describe('checker rules', () => {
  it('Shape honours start and end (clamped, negative from the back)', () => {
    const x = value('x', DataType.FLOAT, [2, 3, 4, 5]);
    for (const [start, end, len] of [[1, -1, 2], [-3, 100, 3], [0, undefined, 4], [3, 1, 0]] as const) {
      const attributes = [attr.int('start', start), ...(end === undefined ? [] : [attr.int('end', end)])];
      const m = model([makeNode('Shape', ['x'], ['s'], { attributes })], [x], [value('s', DataType.INT64)]);
      expect(inferShapes(m).shapes.get('s')).toEqual({ elemType: DataType.INT64, shape: [len] });
    }
  });

  it('Split (sizes from the input, or equal parts) and Transpose; a Reshape 0 copies an unknown dim as unknown', () => {
    const int64 = (name: string, v: number[]) => makeTensor(name, BigInt64Array.from(v.map(BigInt)), [v.length]);
    const m = model(
      [
        makeNode('Split', ['x', 'sizes'], ['a', 'b'], { attributes: [attr.int('axis', 1)] }),
        makeNode('Split', ['x'], ['h1', 'h2'], { attributes: [attr.int('axis', -1)] }),
        makeNode('Transpose', ['a'], ['t'], { attributes: [attr.ints('perm', [0, 2, 3, 1])] }),
        makeNode('Transpose', ['y'], ['u']),
        makeNode('Reshape', ['y', 'copy'], ['r']),
      ],
      [value('x', DataType.FLOAT, ['N', 6, 4, 8]), value('y', DataType.FLOAT, [null, 3])],
      [value('t', DataType.FLOAT), value('b', DataType.FLOAT), value('h1', DataType.FLOAT), value('u', DataType.FLOAT), value('r', DataType.FLOAT)],
      [int64('sizes', [2, 4]), int64('copy', [0, 3, 1])],
    );
    const { shapes } = checkModel(m);
    expect(shapes.get('a')!.shape).toEqual(['N', 2, 4, 8]);
    expect(shapes.get('b')!.shape).toEqual(['N', 4, 4, 8]);
    expect(shapes.get('h1')!.shape).toEqual(['N', 6, 4, 4]);
    expect(shapes.get('t')).toEqual({ elemType: DataType.FLOAT, shape: ['N', 4, 8, 2] });
    expect(shapes.get('u')!.shape).toEqual([3, null]);
    expect(shapes.get('r')!.shape).toEqual([null, 3, 1]);
    // sizes from a graph input are not known before running
    const fed = model([makeNode('Split', ['x', 'sizes'], ['a', 'b'], { attributes: [attr.int('axis', 1)] })], [value('x', DataType.FLOAT, ['N', 6]), value('sizes', DataType.INT64, [2])], [value('a', DataType.FLOAT)]);
    expect(checkModel(fed).shapes.get('a')!.shape).toEqual(['N', null]);
    const bad = model([makeNode('Split', ['x', 'wrong'], ['a', 'b'], { attributes: [attr.int('axis', 1)] })], [value('x', DataType.FLOAT, ['N', 6, 4, 8])], [value('a', DataType.FLOAT)], [int64('wrong', [2, 2])]);
    expect(() => checkModel(bad)).toThrow(/split sizes \[2,2\] do not add up to dim 1 = 6/);
  });

  it('Expand broadcasts the input with a constant shape both ways; a shape fed at run time leaves it unknown', () => {
    const int64 = (name: string, v: number[]) => makeTensor(name, BigInt64Array.from(v.map(BigInt)), [v.length]);
    const m = model(
      [
        makeNode('Expand', ['g', 'wide'], ['e']),
        makeNode('Expand', ['g', 'rank5'], ['f']),
        makeNode('Expand', ['g', 'fed'], ['h']),
      ],
      [value('g', DataType.UINT8, ['N', 1, 1, 32]), value('fed', DataType.INT64, [4])],
      [value('e', DataType.UINT8), value('f', DataType.UINT8), value('h', DataType.UINT8)],
      [int64('wide', [1, 1, 7, 1]), int64('rank5', [2, 1, 1, 1, 1])],
    );
    const { shapes } = checkModel(m);
    expect(shapes.get('e')).toEqual({ elemType: DataType.UINT8, shape: ['N', 1, 7, 32] });
    expect(shapes.get('f')!.shape).toEqual([2, 'N', 1, 1, 32]);
    expect(shapes.get('h')).toEqual({ elemType: DataType.UINT8, shape: undefined });
    const bad = model([makeNode('Expand', ['g', 'wrong'], ['e'])], [value('g', DataType.UINT8, ['N', 1, 1, 32])], [value('e', DataType.UINT8)], [int64('wrong', [1, 1, 1, 3])]);
    expect(() => checkModel(bad)).toThrow(/'g' \[N,1,1,32\] cannot be expanded to \[1,1,1,3\]/);
  });

  it('an input of unknown rank leaves MatMul, Conv and Gemm outputs unknown instead of failing', () => {
    const w = makeTensor('w', new Float32Array(2 * 3 * 3 * 3), [2, 3, 3, 3]);
    const m = model(
      [makeNode('MatMul', ['x', 'x'], ['m']), makeNode('Conv', ['x', 'w'], ['c']), makeNode('Gemm', ['x', 'x'], ['g'])],
      [value('x', DataType.FLOAT)],
      [value('m', DataType.FLOAT), value('c', DataType.FLOAT), value('g', DataType.FLOAT)],
      [w],
    );
    const { shapes } = checkModel(m);
    for (const out of ['m', 'c', 'g']) expect(shapes.get(out)).toEqual({ elemType: DataType.FLOAT, shape: undefined });
  });

  it('a model importing only ai.onnx.ml is accepted; one using an ai.onnx op without importing ai.onnx is not', () => {
    const ml = makeNode('Binarizer', ['x'], ['y'], { domain: 'ai.onnx.ml' });
    const x = value('x', DataType.FLOAT, [3]);
    expect(() => checkModel(model([ml], [x], [value('y', DataType.FLOAT, [3])], [], [{ domain: 'ai.onnx.ml', version: 1 }]))).not.toThrow();
    const add = makeNode('Add', ['x', 'x'], ['y'], { name: 'plain_add' });
    expect(() => checkModel(model([add], [x], [value('y', DataType.FLOAT, [3])], [], [{ domain: 'ai.onnx.ml', version: 1 }]))).toThrow(/imports no ai.onnx opset.*plain_add/);
  });

  it('Q/DQ parameters: scalar scale with a [1] zero point, and blocked scales, as ONNX allows', () => {
    const x = value('x', DataType.INT8, [4, 6]);
    const dq = (scale: OnnxTensor, zp: OnnxTensor, blockSize?: number) =>
      model(
        [makeNode('DequantizeLinear', ['x', 's', 'z'], ['y'], { attributes: [attr.int('axis', 1), ...(blockSize ? [attr.int('block_size', blockSize)] : [])] })],
        [x],
        [value('y', DataType.FLOAT, [4, 6])],
        [scale, zp],
      );
    expect(() => checkModel(dq(makeTensor('s', Float32Array.of(0.5), []), makeTensor('z', Int8Array.of(0), [1])))).not.toThrow();
    expect(() => checkModel(dq(makeTensor('s', new Float32Array(8), [4, 2]), makeTensor('z', new Int8Array(8), [4, 2]), 3))).not.toThrow();
    expect(() => checkModel(dq(makeTensor('s', new Float32Array(12), [4, 3]), makeTensor('z', new Int8Array(12), [4, 3]), 3))).toThrow(/block_size 3/);
    expect(() => checkModel(dq(makeTensor('s', new Float32Array(4), [4]), makeTensor('z', new Int8Array(4), [4])))).toThrow(/per-axis scale 's' has 4 values/);
  });
});
