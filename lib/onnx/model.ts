/**
 * The in-memory ONNX model: plain, JSON-like objects mirroring onnx.proto with camelCase names.
 * int64 scalars (dims, attribute ints, versions) are JS numbers; TensorProto.int64_data/uint64_data are
 * bigints so tensor payloads stay exact. Rewrites never mutate a model: they build new objects and share
 * untouched parts (tensor payloads in particular) with the input.
 */

/** TensorProto.DataType */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;
export type DataTypeName = keyof typeof DataType;

/** AttributeProto.AttributeType */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

export interface StringEntry {
  key: string;
  value: string;
}

export interface OpsetId {
  domain: string;
  version: number;
}

/** A dimension: a size, a symbolic name (dim_param), or null where neither is known. */
export type ShapeDim = number | string | null;

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Little-endian payload; after loadModel external data has been read into here. */
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: bigint[];
  doubleData?: number[];
  uint64Data?: bigint[];
  stringData?: Uint8Array[];
  /** Only set on tensors that are still external (e.g. a model parsed from bytes without its data files). */
  externalData?: StringEntry[];
  dataLocation?: number;
  segment?: { begin: number; end: number };
  docString?: string;
  metadataProps?: StringEntry[];
}

export interface OnnxSparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
  dims: number[];
}

export interface OnnxType {
  /** shape undefined: rank unknown. */
  tensorType?: { elemType: number; shape?: ShapeDim[] };
  sparseTensorType?: { elemType: number; shape?: ShapeDim[] };
  sequenceType?: { elemType?: OnnxType };
  optionalType?: { elemType?: OnnxType };
  mapType?: { keyType: number; valueType?: OnnxType };
  denotation?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: OnnxType;
  docString?: string;
  metadataProps?: StringEntry[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  sparseTensor?: OnnxSparseTensor;
  tp?: OnnxType;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  sparseTensors?: OnnxSparseTensor[];
  typeProtos?: OnnxType[];
  refAttrName?: string;
  docString?: string;
}

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' is the default ai.onnx domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
  overload?: string;
  docString?: string;
  metadataProps?: StringEntry[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  sparseInitializers?: OnnxSparseTensor[];
  docString?: string;
  /** GraphProto.quantization_annotation, kept as decoded. */
  quantizationAnnotation?: { tensorName: string; quantParameterTensorNames: StringEntry[] }[];
  metadataProps?: StringEntry[];
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: OpsetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps?: StringEntry[];
  /** FunctionProto / TrainingInfoProto entries, kept as protobufjs plain objects so they survive a round trip. */
  functions?: Record<string, unknown>[];
  trainingInfo?: Record<string, unknown>[];
}

/** The opset version the model imports for `domain` ('' = ai.onnx), or undefined. */
export function opsetVersion(model: OnnxModel, domain = ''): number | undefined {
  const entry = model.opsetImport.find((o) => o.domain === domain || (domain === '' && o.domain === 'ai.onnx'));
  return entry?.version;
}
