/**
 * FP16 conversion, a pure function model -> { model, report }: float32 initializers, Constant values, Cast targets and
 * value_info types become float16; the model's float32 inputs and outputs stay float32 with a Cast at the
 * boundary. Nodes in `keepFp32` (op types or node names) stay float32 with Casts around them, and their float32
 * initializers are kept as they are. Inputs that ONNX requires in float32 (Resize scales) are never converted.
 * A runtime without float16 kernels for some op is handled by the caller (the onnxruntime backend keeps such ops
 * in float32 and says so in engine.path).
 */
import { float32ToFloat16Bits } from '../data/float16.js';
import { makeNode, NameGenerator, topologicalSort } from './graph.js';
import { AttributeType, DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './model.js';
import { makeTensor, tensorToFloat32 } from './tensor.js';

export interface Fp16Options {
  keepFp32?: readonly string[];
}

export interface Fp16Report {
  /** Nodes computing in float16. */
  fp16Nodes: number;
  /** Nodes kept in float32 (by the keep list), by name or op#index. */
  keptFp32: { node: string; opType: string }[];
  /** Casts inserted at the model boundary and around kept nodes. */
  casts: number;
  convertedInitializers: number;
}

/** Inputs (op type -> input indices) that must stay float32. */
const FLOAT32_ONLY_INPUTS: Record<string, number[]> = { Resize: [1, 2], Upsample: [1] };

export function toFloat16Array(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

function tensorToFp16(t: OnnxTensor): OnnxTensor {
  return { ...makeTensor(t.name, toFloat16Array(tensorToFloat32(t)), t.dims), ...(t.docString ? { docString: t.docString } : {}) };
}

function valueInfoToFp16(v: OnnxValueInfo): OnnxValueInfo {
  const tt = v.type?.tensorType;
  if (!tt || tt.elemType !== DataType.FLOAT) return v;
  return { ...v, type: { ...v.type, tensorType: { ...tt, elemType: DataType.FLOAT16 } } };
}

function attributesToFp16(node: OnnxNode): OnnxAttribute[] {
  return node.attributes.map((a) => {
    if (node.opType === 'Cast' && a.name === 'to' && a.i === DataType.FLOAT) return { ...a, i: DataType.FLOAT16 };
    if (a.type === AttributeType.TENSOR && a.t && a.t.dataType === DataType.FLOAT) return { ...a, t: tensorToFp16(a.t) };
    return a;
  });
}

export function convertToFp16(model: OnnxModel, options: Fp16Options = {}): { model: OnnxModel; report: Fp16Report } {
  const graph = model.graph;
  const keep = new Set(options.keepFp32 ?? []);
  const names = new NameGenerator(graph);
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  const nodes = topologicalSort(graph);
  const isKept = (n: OnnxNode): boolean => keep.has(n.opType) || (n.name !== '' && keep.has(n.name));
  // Which float initializers fp16 nodes read (converted) and which kept nodes / float32-only inputs read (kept).
  const fp16Reads = new Set<string>();
  const fp32Reads = new Set<string>();
  for (const n of nodes) {
    const only32 = FLOAT32_ONLY_INPUTS[n.opType] ?? [];
    n.inputs.forEach((x, i) => {
      if (!inits.has(x)) return;
      if (isKept(n) || only32.includes(i)) fp32Reads.add(x);
      else fp16Reads.add(x);
    });
  }
  const initializers: OnnxTensor[] = [];
  const fp16Name = new Map<string, string>();
  let converted = 0;
  for (const t of graph.initializers) {
    if (t.dataType !== DataType.FLOAT) {
      initializers.push(t);
      continue;
    }
    if (fp32Reads.has(t.name) || !fp16Reads.has(t.name)) initializers.push(t);
    if (fp16Reads.has(t.name)) {
      const name = fp32Reads.has(t.name) ? names.next(`${t.name}_fp16`) : t.name;
      fp16Name.set(t.name, name);
      initializers.push({ ...tensorToFp16(t), name });
      converted++;
    }
  }
  const isFloatInput = (v: OnnxValueInfo) => v.type?.tensorType?.elemType === DataType.FLOAT && !inits.has(v.name);
  const out: OnnxNode[] = [];
  let casts = 0;
  // Boundary: each float32 input is cast once; fp16 nodes read the cast.
  const renamed = new Map<string, string>();
  for (const v of graph.inputs) {
    if (!isFloatInput(v)) continue;
    const half = names.next(`${v.name}_fp16`);
    out.push(makeNode('Cast', [v.name], [half], { name: names.next(`${v.name}_CastToFp16`), attributes: { to: DataType.FLOAT16 } }));
    renamed.set(v.name, half);
    casts++;
  }
  const floatOutputs = new Set(graph.outputs.filter((v) => v.type?.tensorType?.elemType === DataType.FLOAT).map((v) => v.name));
  const keptReport: Fp16Report['keptFp32'] = [];
  // Tensors known to be float32 in the new graph: graph inputs and outputs of kept nodes.
  const fp32Tensors = new Set(graph.inputs.filter(isFloatInput).map((v) => v.name));
  const fp32Copy = new Map<string, string>(); // fp16 tensor -> its float32 cast, made once
  const halfCopy = new Map<string, string>(); // float32 tensor -> its fp16 cast, made once
  let fp16Nodes = 0;
  nodes.forEach((node) => {
    const index = graph.nodes.indexOf(node);
    const kept = isKept(node);
    const only32 = FLOAT32_ONLY_INPUTS[node.opType] ?? [];
    const inputs = node.inputs.map((x, i) => {
      if (x === '') return x;
      if (inits.has(x)) return kept || only32.includes(i) ? x : (fp16Name.get(x) ?? x);
      const current = renamed.get(x) ?? x;
      if (kept) {
        if (fp32Tensors.has(x) && !renamed.has(x)) return x;
        if (fp32Tensors.has(x)) return x; // graph input: the original float32 tensor
        let c = fp32Copy.get(current);
        if (!c) {
          c = names.next(`${x}_fp32`);
          out.push(makeNode('Cast', [current], [c], { name: names.next(`${x}_CastToFp32`), attributes: { to: DataType.FLOAT } }));
          fp32Copy.set(current, c);
          casts++;
        }
        return c;
      }
      if (fp32Tensors.has(x) && !renamed.has(x)) {
        let h = halfCopy.get(x);
        if (!h) {
          h = names.next(`${x}_fp16`);
          out.push(makeNode('Cast', [x], [h], { name: names.next(`${x}_CastToFp16`), attributes: { to: DataType.FLOAT16 } }));
          halfCopy.set(x, h);
          casts++;
        }
        return h;
      }
      return current;
    });
    if (kept) {
      keptReport.push({ node: node.name || `${node.opType}#${index}`, opType: node.opType });
      out.push({ ...node, inputs });
      for (const o of node.outputs) fp32Tensors.add(o);
      return;
    }
    fp16Nodes++;
    // A float graph output produced here: produce an fp16 tensor, cast it to the float32 name.
    const outputs = node.outputs.map((o) => {
      if (!floatOutputs.has(o)) return o;
      const half = names.next(`${o}_fp16`);
      renamed.set(o, half);
      return half;
    });
    out.push({ ...node, inputs, outputs, attributes: attributesToFp16(node) });
    node.outputs.forEach((o, i) => {
      if (outputs[i] !== o) {
        out.push(makeNode('Cast', [outputs[i]!], [o], { name: names.next(`${o}_CastToFp32`), attributes: { to: DataType.FLOAT } }));
        casts++;
      }
    });
  });
  // A kept node's float32 output that is a graph output is already float32; value_info of kept nodes' outputs stays float32.
  const keptOutputs = new Set<string>();
  for (const n of nodes) if (isKept(n)) for (const o of n.outputs) keptOutputs.add(o);
  const valueInfo = graph.valueInfo.map((v) => (keptOutputs.has(v.name) || floatOutputs.has(v.name) ? v : valueInfoToFp16(v)));
  const initNames = new Set(initializers.map((t) => t.name));
  const graphInputs = graph.inputs.filter((v) => !inits.has(v.name) || initNames.has(v.name));
  return {
    model: { ...model, graph: { ...graph, nodes: out, initializers, inputs: graphInputs, valueInfo } },
    report: { fp16Nodes, keptFp32: keptReport, casts, convertedInitializers: converted },
  };
}
