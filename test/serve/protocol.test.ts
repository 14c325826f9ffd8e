import { describe, expect, it } from 'vitest';
import { decodeInferRequest, decodeInferResponse, encodeInferRequest, encodeInferResponse, type ExpectedInput } from '../../lib/serve/protocol.js';
import { float32ToFloat16Bits } from '../../lib/data/float16.js';
import type { TensorData } from '../../lib/engine/types.js';
import { serve } from '../../lib/serve/server.js';
import { isTrtnError } from '../../lib/errors.js';

const INPUTS: ExpectedInput[] = [
  { name: 'ids', dtype: 'int64', shape: [-1, 3] },
  { name: 'mask', dtype: 'bool', shape: [-1, 3] },
  { name: 'half', dtype: 'float16', shape: [2] },
  { name: 'small', dtype: 'int8', shape: [-1] },
];
const body = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const status = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return isTrtnError(err) ? `${String(err.details.status)} ${err.code}: ${err.message}` : String(err);
  }
  return 'ok';
};

describe('request decoding per datatype', () => {
  const request = {
    inputs: [
      { name: 'ids', shape: [1, 3], datatype: 'INT64', data: [[1, -2, 9007199254740991]] },
      { name: 'mask', shape: [1, 3], datatype: 'BOOL', data: [true, false, true] },
      { name: 'half', shape: [2], datatype: 'FP16', data: [1.5, -0.25] },
      { name: 'small', shape: [2], datatype: 'INT8', data: [-128, 127] },
    ],
  };

  it('JSON numbers and booleans into the typed arrays the engine takes', () => {
    const { feeds } = decodeInferRequest(body(request), undefined, INPUTS, ['y']);
    expect(feeds.ids!.data).toEqual(new BigInt64Array([1n, -2n, 9007199254740991n]));
    expect(feeds.mask!.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(feeds.half!.data).toEqual(new Uint16Array([float32ToFloat16Bits(1.5), float32ToFloat16Bits(-0.25)]));
    expect(feeds.small!.data).toEqual(new Int8Array([-128, 127]));
  });

  it('rejects values the datatype cannot hold, with 400', () => {
    const bad = (i: number, data: unknown[]) => {
      const r = structuredClone(request);
      (r.inputs[i] as { data: unknown }).data = data;
      return status(() => decodeInferRequest(body(r), undefined, INPUTS, ['y']));
    };
    expect(bad(3, [-129, 0])).toMatch(/^400 ERR_DTYPE: input 'small' element 0 \(-129\) is not a INT8 value/);
    expect(bad(0, [1.5, 2, 3])).toMatch(/^400 ERR_DTYPE: input 'ids' element 0 \(1.5\)/);
    expect(bad(0, [2 ** 60, 2, 3])).toMatch(/^400 ERR_DTYPE: input 'ids' element 0/);
    expect(bad(1, [1, 0, 1])).toMatch(/^400 ERR_DTYPE: input 'mask' element 0 is 1; BOOL takes true or false/);
    expect(bad(2, [1])).toMatch(/^400 ERR_SHAPE: input 'half' has 1 elements; its shape needs 2/);
    expect(status(() => decodeInferRequest(body({ inputs: request.inputs.slice(1) }), undefined, INPUTS, ['y']))).toMatch(/^400 ERR_INVALID_ARG: input 'ids' is missing/);
    expect(status(() => decodeInferRequest(body({ inputs: [...request.inputs, request.inputs[0]] }), undefined, INPUTS, ['y']))).toMatch(/input 'ids' is given more than once/);
    expect(status(() => decodeInferRequest(body({ ...request, id: 7 }), undefined, INPUTS, ['y']))).toMatch(/"id" must be a string/);
  });

  it('binary inputs in order after the JSON header, byte counts checked', () => {
    const feeds: Record<string, TensorData> = {
      ids: { data: new BigInt64Array([5n, 6n, -7n]), dims: [1, 3], dtype: 'int64' },
      mask: { data: new Uint8Array([0, 1, 1]), dims: [1, 3], dtype: 'bool' },
      half: { data: new Uint16Array([0x3c00, 0xc000]), dims: [2], dtype: 'float16' },
      small: { data: new Int8Array([-1]), dims: [1], dtype: 'int8' },
    };
    const enc = encodeInferRequest(feeds, ['y']);
    const { feeds: back, outputs } = decodeInferRequest(enc.body, String(enc.headerLength), INPUTS, ['y']);
    for (const k of Object.keys(feeds)) expect(back[k]).toEqual(feeds[k]);
    expect(outputs).toEqual([{ name: 'y', binary: true }]);
    expect(status(() => decodeInferRequest(enc.body.subarray(0, enc.body.byteLength - 1), String(enc.headerLength), INPUTS, ['y']))).toMatch(/^400 ERR_INVALID_ARG: input 'small': the body holds 0 binary bytes for it/);
    expect(status(() => decodeInferRequest(enc.body, 'abc', INPUTS, ['y']))).toMatch(/Inference-Header-Content-Length 'abc'/);
  });
});

describe('response encoding', () => {
  it('JSON and binary outputs decode back to the same tensors, bigints exact', () => {
    const outputs = [
      { name: 'ids', tensor: { data: new BigInt64Array([2n ** 62n, -1n]), dims: [2], dtype: 'int64' } as TensorData, binary: false },
      { name: 'h', tensor: { data: new Uint16Array([0x3c00, 0x3555]), dims: [1, 2], dtype: 'float16' } as TensorData, binary: false },
      { name: 'f', tensor: { data: new Float32Array([0.1, -3.4028234663852886e38]), dims: [2], dtype: 'float32' } as TensorData, binary: true },
      { name: 'b', tensor: { data: new Uint8Array([1, 0]), dims: [2], dtype: 'bool' } as TensorData, binary: false },
    ];
    const { body: b, headerLength } = encodeInferResponse({ modelName: 'm', modelVersion: '1', id: 'x' }, outputs);
    const text = b.subarray(0, headerLength).toString();
    expect(text).toContain('"data":[4611686018427387904,-1]');
    expect(text).toContain('"data":[true,false]');
    const small = encodeInferResponse({ modelName: 'm' }, [{ ...outputs[0]!, tensor: { data: new BigInt64Array([-5n, 9007199254740991n]), dims: [2], dtype: 'int64' } }, ...outputs.slice(1)]);
    const back = decodeInferResponse(small.body, String(small.headerLength), 'test');
    expect(back.ids!.data).toEqual(new BigInt64Array([-5n, 9007199254740991n]));
    expect(back.f).toEqual(outputs[2]!.tensor);
    expect(back.h).toEqual(outputs[1]!.tensor);
    expect(back.b).toEqual(outputs[3]!.tensor);
    // 2^62 does not survive JSON.parse as a number: the client refuses it rather than rounding silently.
    expect(() => decodeInferResponse(Buffer.from(text), undefined, 'test')).toThrow(/output 'ids' element 0 \(4611686018427388000\) is not a INT64 value/);
  });

  it('a NaN output cannot go as JSON: the client is told to ask for binary', () => {
    const t: TensorData = { data: new Float32Array([NaN]), dims: [1], dtype: 'float32' };
    expect(status(() => encodeInferResponse({ modelName: 'm' }, [{ name: 'y', tensor: t, binary: false }]))).toMatch(/^400 ERR_UNSUPPORTED: output 'y' holds NaN.*binary_data: true/);
    const { body: b, headerLength } = encodeInferResponse({ modelName: 'm' }, [{ name: 'y', tensor: t, binary: true }]);
    expect(Number.isNaN(decodeInferResponse(b, String(headerLength), 't').y!.data[0])).toBe(true);
  });
});

describe('serve options', () => {
  it('are validated before anything loads', async () => {
    const err = async (o: unknown) => serve(o as never).then(() => 'resolved', (e) => (isTrtnError(e) ? `${e.code}: ${e.message}` : String(e)));
    expect(await err({})).toMatch(/ERR_INVALID_ARG: .*for repository/);
    expect(await err({ repository: 'x', port: 70000 })).toMatch(/ERR_INVALID_ARG: .*for port/);
    expect(await err({ repository: 'x', maxBodyBytes: 0 })).toMatch(/ERR_INVALID_ARG: .*for maxBodyBytes/);
    expect(await err({ repository: '/nonexistent/repo' })).toMatch(/ERR_IO: cannot read model repository '\/nonexistent\/repo'/);
  });
});
