/** Tensor payloads <-> typed arrays. float16/bfloat16 travel as raw 16-bit words in a Uint16Array. */
import { float16BitsToFloat32 } from '../data/float16.js';
import { TrtnError } from '../errors.js';
import type { DType } from '../engine/types.js';
import { DataType, type OnnxTensor } from './model.js';

export type TensorArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type ArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorArray; new (length: number): TensorArray; BYTES_PER_ELEMENT: number };

const CTORS: Partial<Record<number, ArrayCtor>> = {
  [DataType.FLOAT]: Float32Array as unknown as ArrayCtor,
  [DataType.DOUBLE]: Float64Array as unknown as ArrayCtor,
  [DataType.FLOAT16]: Uint16Array as unknown as ArrayCtor,
  [DataType.BFLOAT16]: Uint16Array as unknown as ArrayCtor,
  [DataType.UINT16]: Uint16Array as unknown as ArrayCtor,
  [DataType.INT16]: Int16Array as unknown as ArrayCtor,
  [DataType.INT8]: Int8Array as unknown as ArrayCtor,
  [DataType.UINT8]: Uint8Array as unknown as ArrayCtor,
  [DataType.BOOL]: Uint8Array as unknown as ArrayCtor,
  [DataType.INT32]: Int32Array as unknown as ArrayCtor,
  [DataType.UINT32]: Uint32Array as unknown as ArrayCtor,
  [DataType.INT64]: BigInt64Array as unknown as ArrayCtor,
  [DataType.UINT64]: BigUint64Array as unknown as ArrayCtor,
};

/** Bytes per element of an ONNX data type, or undefined for strings / sub-byte types. */
export function dataTypeSize(dataType: number): number | undefined {
  return CTORS[dataType]?.BYTES_PER_ELEMENT;
}

export function dataTypeName(dataType: number): string {
  const entry = Object.entries(DataType).find(([, v]) => v === dataType);
  return entry ? entry[0] : `dtype(${dataType})`;
}

const DTYPE_TO_DATATYPE: Record<DType, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
  int32: DataType.INT32,
  uint32: DataType.UINT32,
  int64: DataType.INT64,
  uint64: DataType.UINT64,
  bool: DataType.BOOL,
  string: DataType.STRING,
};

export function dtypeToDataType(dtype: DType): number {
  return DTYPE_TO_DATATYPE[dtype];
}

/** The engine-level DType of an ONNX data type, or undefined where the engine API has none. */
export function dataTypeToDType(dataType: number): DType | undefined {
  const entry = (Object.entries(DTYPE_TO_DATATYPE) as [DType, number][]).find(([, v]) => v === dataType);
  return entry?.[0];
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * The tensor's values as a typed array (a view on raw_data when aligned, else a copy).
 * Throws ERR_ONNX_PARSE naming the tensor when the payload does not match dims and data type.
 */
export function tensorToArray(tensor: OnnxTensor): TensorArray {
  const ctor = CTORS[tensor.dataType];
  if (!ctor)
    throw new TrtnError('ERR_UNSUPPORTED', `tensor '${tensor.name}': data type ${dataTypeName(tensor.dataType)} has no typed-array form`, { tensor: tensor.name });
  if (tensor.externalData?.length || tensor.dataLocation === 1)
    throw new TrtnError('ERR_ONNX_LOAD', `tensor '${tensor.name}': data is still in an external file (load the model from its path or pass baseDir)`, { tensor: tensor.name });
  const count = elementCount(tensor.dims);
  const size = ctor.BYTES_PER_ELEMENT;
  if (tensor.rawData !== undefined) {
    const raw = tensor.rawData;
    if (raw.byteLength !== count * size)
      throw new TrtnError('ERR_ONNX_PARSE', `tensor '${tensor.name}': raw_data has ${raw.byteLength} bytes, dims [${tensor.dims.join(',')}] of ${dataTypeName(tensor.dataType)} need ${count * size}`, { tensor: tensor.name });
    if (raw.byteOffset % size === 0) return new ctor(raw.buffer, raw.byteOffset, count);
    const copy = new Uint8Array(raw);
    return new ctor(copy.buffer, 0, count);
  }
  const out = new ctor(count);
  const fill = (values: ArrayLike<number | bigint>, field: string): TensorArray => {
    if (values.length !== count)
      throw new TrtnError('ERR_ONNX_PARSE', `tensor '${tensor.name}': ${field} has ${values.length} values, dims [${tensor.dims.join(',')}] need ${count}`, { tensor: tensor.name });
    const isBig = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      (out as unknown as (number | bigint)[])[i] = isBig ? BigInt(v) : Number(v);
    }
    return out;
  };
  switch (tensor.dataType) {
    case DataType.FLOAT:
      return fill(tensor.floatData ?? [], 'float_data');
    case DataType.DOUBLE:
      return fill(tensor.doubleData ?? [], 'double_data');
    case DataType.INT64:
      return fill(tensor.int64Data ?? [], 'int64_data');
    case DataType.UINT32:
    case DataType.UINT64:
      return fill(tensor.uint64Data ?? [], 'uint64_data');
    default:
      // int32_data carries INT32, INT16, INT8, UINT16, UINT8, BOOL and the 16-bit float bit patterns.
      return fill(tensor.int32Data ?? [], 'int32_data');
  }
}

/** Float values of a FLOAT/DOUBLE/FLOAT16 tensor as a Float32Array (a copy unless it is FLOAT raw data). */
export function tensorToFloat32(tensor: OnnxTensor): Float32Array {
  const arr = tensorToArray(tensor);
  if (arr instanceof Float32Array) return arr;
  if (tensor.dataType === DataType.FLOAT16) return Float32Array.from(arr as Uint16Array, halfToFloat);
  if (arr instanceof Float64Array) return Float32Array.from(arr);
  throw new TrtnError('ERR_DTYPE', `tensor '${tensor.name}' is ${dataTypeName(tensor.dataType)}, not a float tensor`, { tensor: tensor.name });
}

function dataTypeOfArray(data: TensorArray): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Uint16Array) return DataType.FLOAT16;
  if (data instanceof Int16Array) return DataType.INT16;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint32Array) return DataType.UINT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  return DataType.UINT64;
}

/**
 * A tensor holding `data` as raw_data (copied, little-endian). The data type follows the array
 * (Uint16Array means FLOAT16) unless `dataType` says otherwise (e.g. BFLOAT16, BOOL, UINT16).
 */
export function makeTensor(name: string, data: TensorArray, dims: readonly number[], dataType?: number): OnnxTensor {
  const type = dataType ?? dataTypeOfArray(data);
  const size = dataTypeSize(type);
  if (size !== data.BYTES_PER_ELEMENT)
    throw new TrtnError('ERR_DTYPE', `tensor '${name}': ${data.constructor.name} cannot hold ${dataTypeName(type)}`, { tensor: name });
  if (elementCount(dims) !== data.length)
    throw new TrtnError('ERR_SHAPE', `tensor '${name}': ${data.length} values do not fill dims [${dims.join(',')}]`, { tensor: name });
  const rawData = new Uint8Array(data.byteLength);
  rawData.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { name, dataType: type, dims: [...dims], rawData };
}

/** A scalar or 1-D INT64 tensor (shapes, axes). */
export function makeInt64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): OnnxTensor {
  return makeTensor(name, BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** Byte size of a tensor's payload (raw or typed fields), without decoding it. */
export function tensorByteSize(tensor: OnnxTensor): number {
  if (tensor.rawData !== undefined) return tensor.rawData.byteLength;
  const lengthEntry = tensor.externalData?.find((e) => e.key === 'length');
  const size = dataTypeSize(tensor.dataType);
  if (size !== undefined) return elementCount(tensor.dims) * size;
  if (lengthEntry) return Number(lengthEntry.value);
  return (tensor.stringData ?? []).reduce((s, b) => s + b.byteLength, 0);
}

/** The same tensor with its payload moved into raw_data (no-op when already raw). */
export function toRawTensor(tensor: OnnxTensor): OnnxTensor {
  if (tensor.rawData !== undefined || tensor.dataType === DataType.STRING) return tensor;
  const arr = tensorToArray(tensor);
  const { floatData, int32Data, int64Data, doubleData, uint64Data, ...rest } = tensor;
  void floatData, int32Data, int64Data, doubleData, uint64Data;
  return { ...rest, rawData: new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength)) };
}

// IEEE 754 half -> single, used by tensorToFloat32 and by callers reading FLOAT16 tensors (one implementation: lib/data/float16.ts).
export const halfToFloat = float16BitsToFloat32;
