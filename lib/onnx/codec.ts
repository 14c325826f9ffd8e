/**
 * Conversion between protobufjs messages and the plain in-memory model (lib/onnx/model.ts).
 * Decoding works on protobufjs message instances (int64 as Long); encoding produces plain objects
 * that `Type.encode` accepts (int64 as number, or decimal string where a number would lose bits).
 */
import type Long from 'long';
import type {
  OnnxAttribute,
  OnnxGraph,
  OnnxModel,
  OnnxNode,
  OnnxSparseTensor,
  OnnxTensor,
  OnnxType,
  OnnxValueInfo,
  ShapeDim,
  StringEntry,
} from './model.js';
import { onnxType } from './proto.js';

/** Nested graphs (If/Loop bodies) deeper than this are treated as a malformed file. */
export const MAX_GRAPH_DEPTH = 64;

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const has = (m: Msg, key: string): boolean => Object.prototype.hasOwnProperty.call(m, key);

function num(v: number | Long | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return v.toNumber();
}

function big(v: number | Long): bigint {
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Encode an int64 held as a JS number: exact when safe, else clamped to the int64 range (e.g. INT64_MAX ends). */
export function int64Out(v: number): number | string {
  if (Number.isSafeInteger(v)) return v;
  if (!Number.isFinite(v)) return v > 0 ? INT64_MAX.toString() : INT64_MIN.toString();
  let b = BigInt(Math.trunc(v));
  if (b > INT64_MAX) b = INT64_MAX;
  if (b < INT64_MIN) b = INT64_MIN;
  return b.toString();
}

function optStr(m: Msg, key: string, out: Record<string, unknown>): void {
  if (has(m, key) && m[key] !== '') out[key] = m[key];
}

function entries(list: Msg[] | undefined): StringEntry[] {
  return (list ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
}

export function decodeTensor(m: Msg): OnnxTensor {
  const t: OnnxTensor = { name: m.name ?? '', dataType: m.dataType ?? 0, dims: (m.dims ?? []).map(num) };
  if (has(m, 'rawData')) t.rawData = m.rawData;
  if (m.floatData?.length) t.floatData = Array.from(m.floatData as number[]);
  if (m.int32Data?.length) t.int32Data = Array.from(m.int32Data as number[]);
  if (m.int64Data?.length) t.int64Data = (m.int64Data as Long[]).map(big);
  if (m.doubleData?.length) t.doubleData = Array.from(m.doubleData as number[]);
  if (m.uint64Data?.length) t.uint64Data = (m.uint64Data as Long[]).map(big);
  if (m.stringData?.length) t.stringData = m.stringData;
  if (m.externalData?.length) t.externalData = entries(m.externalData);
  if (has(m, 'dataLocation')) t.dataLocation = m.dataLocation;
  if (has(m, 'segment')) t.segment = { begin: num(m.segment.begin), end: num(m.segment.end) };
  optStr(m, 'docString', t as unknown as Record<string, unknown>);
  if (m.metadataProps?.length) t.metadataProps = entries(m.metadataProps);
  return t;
}

function decodeSparse(m: Msg): OnnxSparseTensor {
  const s: OnnxSparseTensor = { dims: (m.dims ?? []).map(num) };
  if (has(m, 'values')) s.values = decodeTensor(m.values);
  if (has(m, 'indices')) s.indices = decodeTensor(m.indices);
  return s;
}

function decodeShape(m: Msg | undefined): ShapeDim[] | undefined {
  if (!m) return undefined;
  return (m.dim ?? []).map((d: Msg): ShapeDim => {
    if (has(d, 'dimValue')) return num(d.dimValue);
    if (has(d, 'dimParam')) return d.dimParam as string;
    return null;
  });
}

function decodeType(m: Msg, depth: number): OnnxType {
  if (depth > MAX_GRAPH_DEPTH) throw new Error('type nesting too deep');
  const t: OnnxType = {};
  if (has(m, 'tensorType')) {
    t.tensorType = { elemType: m.tensorType.elemType ?? 0 };
    if (has(m.tensorType, 'shape')) t.tensorType.shape = decodeShape(m.tensorType.shape);
  }
  if (has(m, 'sparseTensorType')) {
    t.sparseTensorType = { elemType: m.sparseTensorType.elemType ?? 0 };
    if (has(m.sparseTensorType, 'shape')) t.sparseTensorType.shape = decodeShape(m.sparseTensorType.shape);
  }
  if (has(m, 'sequenceType'))
    t.sequenceType = has(m.sequenceType, 'elemType') ? { elemType: decodeType(m.sequenceType.elemType, depth + 1) } : {};
  if (has(m, 'optionalType'))
    t.optionalType = has(m.optionalType, 'elemType') ? { elemType: decodeType(m.optionalType.elemType, depth + 1) } : {};
  if (has(m, 'mapType')) {
    t.mapType = { keyType: m.mapType.keyType ?? 0 };
    if (has(m.mapType, 'valueType')) t.mapType.valueType = decodeType(m.mapType.valueType, depth + 1);
  }
  optStr(m, 'denotation', t as Record<string, unknown>);
  return t;
}

function decodeValueInfo(m: Msg): OnnxValueInfo {
  const v: OnnxValueInfo = { name: m.name ?? '' };
  if (has(m, 'type')) v.type = decodeType(m.type, 0);
  optStr(m, 'docString', v as unknown as Record<string, unknown>);
  if (m.metadataProps?.length) v.metadataProps = entries(m.metadataProps);
  return v;
}

function decodeAttribute(m: Msg, depth: number): OnnxAttribute {
  const a: OnnxAttribute = { name: m.name ?? '', type: m.type ?? 0 };
  if (has(m, 'f')) a.f = m.f;
  if (has(m, 'i')) a.i = num(m.i);
  if (has(m, 's')) a.s = m.s;
  if (has(m, 't')) a.t = decodeTensor(m.t);
  if (has(m, 'g')) a.g = decodeGraph(m.g, depth + 1);
  if (has(m, 'sparseTensor')) a.sparseTensor = decodeSparse(m.sparseTensor);
  if (has(m, 'tp')) a.tp = decodeType(m.tp, 0);
  if (m.floats?.length) a.floats = Array.from(m.floats as number[]);
  if (m.ints?.length) a.ints = (m.ints as Long[]).map(num);
  if (m.strings?.length) a.strings = m.strings;
  if (m.tensors?.length) a.tensors = (m.tensors as Msg[]).map(decodeTensor);
  if (m.graphs?.length) a.graphs = (m.graphs as Msg[]).map((g) => decodeGraph(g, depth + 1));
  if (m.sparseTensors?.length) a.sparseTensors = (m.sparseTensors as Msg[]).map(decodeSparse);
  if (m.typeProtos?.length) a.typeProtos = (m.typeProtos as Msg[]).map((t) => decodeType(t, 0));
  optStr(m, 'refAttrName', a as unknown as Record<string, unknown>);
  optStr(m, 'docString', a as unknown as Record<string, unknown>);
  // IR < 2 files have no type discriminator: infer it from the field in use.
  if (a.type === 0) a.type = inferAttributeType(a);
  return a;
}

function inferAttributeType(a: OnnxAttribute): number {
  if (a.f !== undefined) return 1;
  if (a.i !== undefined) return 2;
  if (a.s !== undefined) return 3;
  if (a.t !== undefined) return 4;
  if (a.g !== undefined) return 5;
  if (a.floats) return 6;
  if (a.ints) return 7;
  if (a.strings) return 8;
  if (a.tensors) return 9;
  if (a.graphs) return 10;
  return 0;
}

function decodeNode(m: Msg, depth: number): OnnxNode {
  const n: OnnxNode = {
    name: m.name ?? '',
    opType: m.opType ?? '',
    domain: m.domain ?? '',
    inputs: Array.from(m.input ?? []),
    outputs: Array.from(m.output ?? []),
    attributes: (m.attribute ?? []).map((a: Msg) => decodeAttribute(a, depth)),
  };
  optStr(m, 'overload', n as unknown as Record<string, unknown>);
  optStr(m, 'docString', n as unknown as Record<string, unknown>);
  if (m.metadataProps?.length) n.metadataProps = entries(m.metadataProps);
  return n;
}

export function decodeGraph(m: Msg, depth = 0): OnnxGraph {
  if (depth > MAX_GRAPH_DEPTH) throw new Error(`graphs nested deeper than ${MAX_GRAPH_DEPTH}`);
  const g: OnnxGraph = {
    name: m.name ?? '',
    nodes: (m.node ?? []).map((n: Msg) => decodeNode(n, depth)),
    initializers: (m.initializer ?? []).map(decodeTensor),
    inputs: (m.input ?? []).map(decodeValueInfo),
    outputs: (m.output ?? []).map(decodeValueInfo),
    valueInfo: (m.valueInfo ?? []).map(decodeValueInfo),
  };
  if (m.sparseInitializer?.length) g.sparseInitializers = (m.sparseInitializer as Msg[]).map(decodeSparse);
  optStr(m, 'docString', g as unknown as Record<string, unknown>);
  if (m.quantizationAnnotation?.length)
    g.quantizationAnnotation = (m.quantizationAnnotation as Msg[]).map((q) => ({
      tensorName: q.tensorName ?? '',
      quantParameterTensorNames: entries(q.quantParameterTensorNames),
    }));
  if (m.metadataProps?.length) g.metadataProps = entries(m.metadataProps);
  return g;
}

export function decodeModelMessage(m: Msg): OnnxModel {
  const model: OnnxModel = {
    irVersion: num(m.irVersion),
    opsetImport: (m.opsetImport ?? []).map((o: Msg) => ({ domain: o.domain ?? '', version: num(o.version) })),
    graph: decodeGraph(m.graph ?? {}),
  };
  for (const key of ['producerName', 'producerVersion', 'domain', 'docString'] as const) optStr(m, key, model as unknown as Record<string, unknown>);
  if (has(m, 'modelVersion')) model.modelVersion = num(m.modelVersion);
  if (m.metadataProps?.length) model.metadataProps = entries(m.metadataProps);
  if (m.functions?.length) model.functions = (m.functions as Msg[]).map((fn) => onnxType('FunctionProto').toObject(fn as never, { longs: String }));
  if (m.trainingInfo?.length) model.trainingInfo = (m.trainingInfo as Msg[]).map((t) => onnxType('TrainingInfoProto').toObject(t as never, { longs: String }));
  return model;
}

// ---------------------------------------------------------------------------------------------- encode

function encodeTensor(t: OnnxTensor): Msg {
  const m: Msg = { dims: t.dims.map(int64Out), dataType: t.dataType };
  if (t.name) m.name = t.name;
  if (t.segment) m.segment = { begin: int64Out(t.segment.begin), end: int64Out(t.segment.end) };
  if (t.floatData) m.floatData = t.floatData;
  if (t.int32Data) m.int32Data = t.int32Data;
  if (t.stringData) m.stringData = t.stringData;
  if (t.int64Data) m.int64Data = t.int64Data.map((v) => v.toString());
  if (t.rawData !== undefined) m.rawData = t.rawData;
  if (t.doubleData) m.doubleData = t.doubleData;
  if (t.uint64Data) m.uint64Data = t.uint64Data.map((v) => v.toString());
  if (t.docString) m.docString = t.docString;
  if (t.externalData) m.externalData = t.externalData;
  if (t.dataLocation !== undefined) m.dataLocation = t.dataLocation;
  if (t.metadataProps) m.metadataProps = t.metadataProps;
  return m;
}

function encodeSparse(s: OnnxSparseTensor): Msg {
  const m: Msg = { dims: s.dims.map(int64Out) };
  if (s.values) m.values = encodeTensor(s.values);
  if (s.indices) m.indices = encodeTensor(s.indices);
  return m;
}

function encodeShape(shape: ShapeDim[]): Msg {
  return {
    dim: shape.map((d) => (typeof d === 'number' ? { dimValue: int64Out(d) } : typeof d === 'string' ? { dimParam: d } : {})),
  };
}

function encodeType(t: OnnxType): Msg {
  const m: Msg = {};
  if (t.tensorType) {
    m.tensorType = { elemType: t.tensorType.elemType };
    if (t.tensorType.shape) m.tensorType.shape = encodeShape(t.tensorType.shape);
  }
  if (t.sequenceType) m.sequenceType = t.sequenceType.elemType ? { elemType: encodeType(t.sequenceType.elemType) } : {};
  if (t.mapType) {
    m.mapType = { keyType: t.mapType.keyType };
    if (t.mapType.valueType) m.mapType.valueType = encodeType(t.mapType.valueType);
  }
  if (t.denotation) m.denotation = t.denotation;
  if (t.sparseTensorType) {
    m.sparseTensorType = { elemType: t.sparseTensorType.elemType };
    if (t.sparseTensorType.shape) m.sparseTensorType.shape = encodeShape(t.sparseTensorType.shape);
  }
  if (t.optionalType) m.optionalType = t.optionalType.elemType ? { elemType: encodeType(t.optionalType.elemType) } : {};
  return m;
}

function encodeValueInfo(v: OnnxValueInfo): Msg {
  const m: Msg = {};
  if (v.name) m.name = v.name;
  if (v.type) m.type = encodeType(v.type);
  if (v.docString) m.docString = v.docString;
  if (v.metadataProps) m.metadataProps = v.metadataProps;
  return m;
}

function encodeAttribute(a: OnnxAttribute): Msg {
  const m: Msg = { name: a.name };
  if (a.f !== undefined) m.f = a.f;
  if (a.i !== undefined) m.i = int64Out(a.i);
  if (a.s !== undefined) m.s = a.s;
  if (a.t) m.t = encodeTensor(a.t);
  if (a.g) m.g = encodeGraph(a.g);
  if (a.floats) m.floats = a.floats;
  if (a.ints) m.ints = a.ints.map(int64Out);
  if (a.strings) m.strings = a.strings;
  if (a.tensors) m.tensors = a.tensors.map(encodeTensor);
  if (a.graphs) m.graphs = a.graphs.map(encodeGraph);
  if (a.docString) m.docString = a.docString;
  if (a.tp) m.tp = encodeType(a.tp);
  if (a.typeProtos) m.typeProtos = a.typeProtos.map(encodeType);
  m.type = a.type;
  if (a.refAttrName) m.refAttrName = a.refAttrName;
  if (a.sparseTensor) m.sparseTensor = encodeSparse(a.sparseTensor);
  if (a.sparseTensors) m.sparseTensors = a.sparseTensors.map(encodeSparse);
  return m;
}

function encodeNode(n: OnnxNode): Msg {
  const m: Msg = { input: n.inputs, output: n.outputs };
  if (n.name) m.name = n.name;
  m.opType = n.opType;
  m.attribute = n.attributes.map(encodeAttribute);
  if (n.docString) m.docString = n.docString;
  if (n.domain) m.domain = n.domain;
  if (n.overload) m.overload = n.overload;
  if (n.metadataProps) m.metadataProps = n.metadataProps;
  return m;
}

export function encodeGraph(g: OnnxGraph): Msg {
  const m: Msg = { node: g.nodes.map(encodeNode), initializer: g.initializers.map(encodeTensor) };
  if (g.name) m.name = g.name;
  if (g.docString) m.docString = g.docString;
  m.input = g.inputs.map(encodeValueInfo);
  m.output = g.outputs.map(encodeValueInfo);
  m.valueInfo = g.valueInfo.map(encodeValueInfo);
  if (g.quantizationAnnotation) m.quantizationAnnotation = g.quantizationAnnotation;
  if (g.sparseInitializers) m.sparseInitializer = g.sparseInitializers.map(encodeSparse);
  if (g.metadataProps) m.metadataProps = g.metadataProps;
  return m;
}

export function encodeModelMessage(model: OnnxModel): Msg {
  const m: Msg = { irVersion: int64Out(model.irVersion) };
  if (model.producerName) m.producerName = model.producerName;
  if (model.producerVersion) m.producerVersion = model.producerVersion;
  if (model.domain) m.domain = model.domain;
  if (model.modelVersion !== undefined) m.modelVersion = int64Out(model.modelVersion);
  if (model.docString) m.docString = model.docString;
  m.graph = encodeGraph(model.graph);
  m.opsetImport = model.opsetImport.map((o) => (o.domain ? { domain: o.domain, version: int64Out(o.version) } : { version: int64Out(o.version) }));
  if (model.metadataProps) m.metadataProps = model.metadataProps;
  if (model.trainingInfo) m.trainingInfo = model.trainingInfo.map((t) => onnxType('TrainingInfoProto').fromObject(t));
  if (model.functions) m.functions = model.functions.map((fn) => onnxType('FunctionProto').fromObject(fn));
  return m;
}
