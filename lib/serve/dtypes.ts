/**
 * The three names a tensor's element type goes by: the engine API's DType, Triton's model-configuration enum
 * (TYPE_FP32, model_config.proto DataType) and the Open Inference Protocol's datatype string (FP32).
 */
import { TrtnError } from '../errors.js';
import type { DType, TypedArray } from '../engine/types.js';

export type TritonType =
  | 'TYPE_BOOL' | 'TYPE_UINT8' | 'TYPE_UINT16' | 'TYPE_UINT32' | 'TYPE_UINT64' | 'TYPE_INT8' | 'TYPE_INT16' | 'TYPE_INT32'
  | 'TYPE_INT64' | 'TYPE_FP16' | 'TYPE_FP32' | 'TYPE_FP64' | 'TYPE_STRING' | 'TYPE_BF16';

/** Every DataType value model_config.proto defines (TYPE_INVALID excluded: Triton rejects it for a tensor). */
export const TRITON_TYPES: readonly TritonType[] = [
  'TYPE_BOOL', 'TYPE_UINT8', 'TYPE_UINT16', 'TYPE_UINT32', 'TYPE_UINT64', 'TYPE_INT8', 'TYPE_INT16', 'TYPE_INT32',
  'TYPE_INT64', 'TYPE_FP16', 'TYPE_FP32', 'TYPE_FP64', 'TYPE_STRING', 'TYPE_BF16',
];

/** Every datatype the protocol's "Tensor Data Types" table defines. */
export const PROTOCOL_TYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16'] as const;
export type ProtocolType = (typeof PROTOCOL_TYPES)[number];

interface TypeRow {
  triton: TritonType;
  protocol: ProtocolType;
  bytes: number;
  array: new (buffer: ArrayBuffer | number, offset?: number, length?: number) => TypedArray;
}

const ROWS: Record<Exclude<DType, 'string'>, TypeRow> = {
  float32: { triton: 'TYPE_FP32', protocol: 'FP32', bytes: 4, array: Float32Array },
  float16: { triton: 'TYPE_FP16', protocol: 'FP16', bytes: 2, array: Uint16Array },
  int8: { triton: 'TYPE_INT8', protocol: 'INT8', bytes: 1, array: Int8Array },
  uint8: { triton: 'TYPE_UINT8', protocol: 'UINT8', bytes: 1, array: Uint8Array },
  int32: { triton: 'TYPE_INT32', protocol: 'INT32', bytes: 4, array: Int32Array },
  int64: { triton: 'TYPE_INT64', protocol: 'INT64', bytes: 8, array: BigInt64Array as unknown as TypeRow['array'] },
  bool: { triton: 'TYPE_BOOL', protocol: 'BOOL', bytes: 1, array: Uint8Array },
  float64: { triton: 'TYPE_FP64', protocol: 'FP64', bytes: 8, array: Float64Array },
  int16: { triton: 'TYPE_INT16', protocol: 'INT16', bytes: 2, array: Int16Array },
  uint16: { triton: 'TYPE_UINT16', protocol: 'UINT16', bytes: 2, array: Uint16Array },
  uint32: { triton: 'TYPE_UINT32', protocol: 'UINT32', bytes: 4, array: Uint32Array },
  uint64: { triton: 'TYPE_UINT64', protocol: 'UINT64', bytes: 8, array: BigUint64Array as unknown as TypeRow['array'] },
};

/** The row of a dtype; string tensors (BYTES) are not carried by the server or the remote engine. */
function row(d: DType): TypeRow {
  if (d === 'string') throw new TrtnError('ERR_UNSUPPORTED', 'string tensors (TYPE_STRING / BYTES) are not supported by serve and the remote backend');
  return ROWS[d];
}
/** The dtypes serve and the remote engine carry. */
export const SERVED_DTYPES = Object.keys(ROWS) as DType[];

export const tritonType = (d: DType): TritonType => row(d).triton;
export const protocolType = (d: DType): ProtocolType => row(d).protocol;
export const elementBytes = (d: DType): number => row(d).bytes;
export const arrayType = (d: DType): TypeRow['array'] => row(d).array;

/** The engine DType of a Triton enum name, or undefined where serving cannot carry it (e.g. TYPE_STRING). */
export const dtypeOfTriton = (t: string): DType | undefined => SERVED_DTYPES.find((d) => row(d).triton === t);
/** The engine DType of a protocol datatype, or undefined where serving cannot carry it (e.g. BYTES). */
export const dtypeOfProtocol = (t: string): DType | undefined => SERVED_DTYPES.find((d) => row(d).protocol === t);
