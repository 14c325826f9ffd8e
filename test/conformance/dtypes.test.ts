/** Every element type ONNX Runtime carries goes in and out of an engine; zero-size tensors too; TensorRT says what it cannot carry. */
import { describe, expect, it } from 'vitest';
import '../../lib/backends/index.js';
import { buildEngine } from '../../lib/engine/api.js';
import type { DType, TensorData } from '../../lib/engine/types.js';
import { makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import { DataType, type OnnxModel } from '../../lib/onnx/model.js';
import { dtypeToDataType } from '../../lib/onnx/tensor.js';

/** y = Identity(x) and n = Size(x), for x of `elemType` with a dynamic first dim. */
function identity(elemType: number): Uint8Array {
  const m: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'identity',
      nodes: [makeNode('Identity', ['x'], ['y']), makeNode('Size', ['x'], ['n'])],
      initializers: [],
      inputs: [{ name: 'x', type: { tensorType: { elemType, shape: ['N', 2] } } }],
      outputs: [
        { name: 'y', type: { tensorType: { elemType, shape: ['N', 2] } } },
        { name: 'n', type: { tensorType: { elemType: DataType.INT64, shape: [] } } },
      ],
      valueInfo: [],
    },
  };
  return serializeModel(m);
}

const SAMPLES: [DType, TensorData['data']][] = [
  ['float64', Float64Array.of(1.5, -2.25, 1e300, Number.MIN_VALUE)],
  ['int16', Int16Array.of(-32768, 32767, 0, -1)],
  ['uint16', Uint16Array.of(0, 65535, 1, 2)],
  ['uint32', Uint32Array.of(0, 4294967295, 7, 8)],
  ['uint64', BigUint64Array.of(0n, 18446744073709551615n, 1n, 2n)],
  ['string', ['a', 'ünïcödé', '', 'four']],
];

describe('engine element types (onnxruntime backend)', () => {
  it.each(SAMPLES)('%s goes in and comes out unchanged', async (dtype, data) => {
    await using engine = await buildEngine(identity(dtypeToDataType(dtype)), { precision: 'fp32', backend: 'onnxruntime' });
    expect(engine.inputs[0]).toMatchObject({ name: 'x', dtype });
    const out = await engine.infer({ x: { data, dims: [2, 2], dtype } });
    expect(out.y!.dtype).toBe(dtype);
    expect(Array.from(out.y!.data as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
    expect(out.n!.data).toEqual(BigInt64Array.of(4n));
  });

  it('a zero-size feed runs and gives a zero-size output', async () => {
    await using engine = await buildEngine(identity(DataType.FLOAT), { precision: 'fp32', backend: 'onnxruntime' });
    const out = await engine.infer({ x: { data: new Float32Array(0), dims: [0, 2], dtype: 'float32' } });
    expect(out.y!.dims).toEqual([0, 2]);
    expect(out.y!.data.length).toBe(0);
    expect(out.n!.data).toEqual(BigInt64Array.of(0n));
  });

  it('a string feed holding a non-string is refused with ERR_DTYPE naming the tensor', async () => {
    await using engine = await buildEngine(identity(DataType.STRING), { precision: 'fp32', backend: 'onnxruntime' });
    await expect(engine.infer({ x: { data: ['a', 2] as unknown as string[], dims: [1, 2], dtype: 'string' } })).rejects.toMatchObject({ code: 'ERR_DTYPE', message: expect.stringContaining("'x'") });
  });

  it.each([['float64', DataType.DOUBLE], ['string', DataType.STRING], ['uint16', DataType.UINT16]] as const)(
    'TensorRT refuses a %s model in one ERR_UNSUPPORTED naming the tensor, before any work',
    async (name, elemType) => {
      const err = await buildEngine(identity(elemType), { precision: 'fp32', backend: 'tensorrt' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED', details: { tensor: 'x', backend: 'tensorrt' } });
      expect((err as Error).message).toContain(name === 'float64' ? 'DOUBLE' : name.toUpperCase());
    },
  );
});
