/** A summary of a model: interface, opset, op counts, parameter count and weight bytes. */
import { feedInputs } from './graph.js';
import { DataType, opsetVersion, type OnnxModel, type OnnxValueInfo, type ShapeDim } from './model.js';
import { dataTypeName, elementCount, tensorByteSize } from './tensor.js';

export interface ModelIO {
  name: string;
  /** ONNX element type name, e.g. 'FLOAT'. */
  elemType: string;
  /** Symbolic dims as their names, unknown dims as '?'. */
  shape: (number | string)[];
}

export interface ModelSummary {
  irVersion: number;
  /** The ai.onnx opset version. */
  opset: number | undefined;
  opsetImport: { domain: string; version: number }[];
  producer: string;
  inputs: ModelIO[];
  outputs: ModelIO[];
  nodeCount: number;
  opCounts: Record<string, number>;
  /**
   * Learned parameters, counted as PyTorch does: elements of float (and int8/uint8 weight) initializers,
   * without BatchNormalization running mean/variance (buffers, not parameters) and without
   * int32/int64 constants (shapes, axes).
   */
  parameterCount: number;
  /** Elements of every initializer, BN running statistics included. */
  initializerElements: number;
  initializerCount: number;
  initializerBytes: number;
}

const PARAMETER_TYPES = new Set<number>([
  DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE, DataType.INT8, DataType.UINT8,
  DataType.INT4, DataType.UINT4, DataType.FLOAT8E4M3FN, DataType.FLOAT8E5M2,
]);

function io(v: OnnxValueInfo): ModelIO {
  const tt = v.type?.tensorType;
  const shape = (tt?.shape ?? []).map((d: ShapeDim) => (d === null ? '?' : d));
  return { name: v.name, elemType: tt ? dataTypeName(tt.elemType) : 'UNKNOWN', shape };
}

export function inspectModel(model: OnnxModel): ModelSummary {
  const g = model.graph;
  const opCounts: Record<string, number> = {};
  const bnStats = new Set<string>();
  for (const n of g.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    opCounts[key] = (opCounts[key] ?? 0) + 1;
    if (n.opType === 'BatchNormalization') for (const k of [3, 4]) if (n.inputs[k]) bnStats.add(n.inputs[k]!);
  }
  let parameterCount = 0;
  let initializerElements = 0;
  let initializerBytes = 0;
  for (const t of g.initializers) {
    const count = elementCount(t.dims);
    initializerElements += count;
    initializerBytes += tensorByteSize(t);
    if (PARAMETER_TYPES.has(t.dataType) && !bnStats.has(t.name)) parameterCount += count;
  }
  return {
    irVersion: model.irVersion,
    opset: opsetVersion(model),
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: feedInputs(g).map(io),
    outputs: g.outputs.map(io),
    nodeCount: g.nodes.length,
    opCounts,
    parameterCount,
    initializerElements,
    initializerCount: g.initializers.length,
    initializerBytes,
  };
}
